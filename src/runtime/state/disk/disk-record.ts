/**
 * How the disk backend lays state out in LevelDB. Key: u8 state index, then the key in the
 * state format's (prefix-free) encoding. Record: u8 flags (1: has write time), varint split index
 * + 1 (0: no split), [varint written-at], then a value — or, for map state, varint #entries and
 * per entry: map key, u8 flags, [varint written-at], value. A key's whole map is one record, so
 * `entries()` stays one synchronous read.
 */
import type { StateKey } from '../state-key.js';
import { ByteReader } from '../format/byte-reader.js';
import { ByteWriter } from '../format/byte-writer.js';
import { readKey, readValue, writeKey, writeValue } from '../format/state-value-codec.js';

const HAS_TIME = 1;

/** A value-state entry as stored. */
export interface ValueRecord {
  readonly split: number;
  readonly writtenAt: number | undefined;
  readonly value: unknown;
}

/** One entry of a map-state record. */
export interface MapEntryRecord {
  readonly writtenAt: number | undefined;
  readonly value: unknown;
}

/** A key's map as stored. */
export interface MapRecord {
  readonly split: number;
  readonly entries: Map<StateKey, MapEntryRecord>;
}

const keyWriter = new ByteWriter(256);

/** The LevelDB key of (state, key); a fresh Buffer. */
export function dbKey(stateIndex: number, key: StateKey): Buffer {
  keyWriter.u8(stateIndex);
  writeKey(keyWriter, key);
  return keyWriter.takePooled();
}

/** The state index and key of a LevelDB key. */
export function parseDbKey(bytes: Uint8Array): { stateIndex: number; key: StateKey } {
  const input = new ByteReader(bytes, 'disk state key');
  const stateIndex = input.u8();
  return { stateIndex, key: readKey(input) };
}

const recordWriter = new ByteWriter(4096);

export function encodeValueRecord(record: ValueRecord): Buffer {
  const out = recordWriter;
  out.u8(record.writtenAt === undefined ? 0 : HAS_TIME);
  out.varint(record.split + 1);
  if (record.writtenAt !== undefined) out.varint(Math.max(0, Math.floor(record.writtenAt)));
  writeValue(out, record.value);
  return out.takePooled();
}

export function decodeValueRecord(bytes: Uint8Array): ValueRecord {
  const input = new ByteReader(bytes, 'disk state record');
  const flags = input.u8();
  const split = input.varint() - 1;
  const writtenAt = flags & HAS_TIME ? input.varint() : undefined;
  return { split, writtenAt, value: readValue(input) };
}

export function encodeMapRecord(record: MapRecord): Buffer {
  const out = recordWriter;
  out.u8(0);
  out.varint(record.split + 1);
  out.varint(record.entries.size);
  for (const [mapKey, e] of record.entries) {
    writeKey(out, mapKey);
    out.u8(e.writtenAt === undefined ? 0 : HAS_TIME);
    if (e.writtenAt !== undefined) out.varint(Math.max(0, Math.floor(e.writtenAt)));
    writeValue(out, e.value);
  }
  return out.takePooled();
}

export function decodeMapRecord(bytes: Uint8Array): MapRecord {
  const input = new ByteReader(bytes, 'disk state record');
  input.u8();
  const split = input.varint() - 1;
  const count = input.varint();
  const entries = new Map<StateKey, MapEntryRecord>();
  for (let i = 0; i < count; i++) {
    const mapKey = readKey(input);
    const flags = input.u8();
    const writtenAt = flags & HAS_TIME ? input.varint() : undefined;
    entries.set(mapKey, { writtenAt, value: readValue(input) });
  }
  return { split, entries };
}
