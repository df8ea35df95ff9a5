import type { StateKey } from '../state-key.js';
import { ByteReader } from './byte-reader.js';
import type { ByteWriter } from './byte-writer.js';
import { FLAG_DELETED, FLAG_HAS_MAP_KEY, FLAG_HAS_TIME, type EncodedStateBlock, type StateBlock, type StateEntry } from './state-file.js';
import { readKey, readValue, skipValue, writeKey, writeValue } from './state-value-codec.js';

/** What a merge decides an entry's fate on: everything but its value. */
export type StateEntryHead = Omit<StateEntry, 'value'>;

/** One entry as a state file's block holds it: key, flags, [map key], [written-at], [value]. */
export function writeEntry(out: ByteWriter, e: StateEntry): void {
  writeKey(out, e.key);
  const hasTime = e.writtenAt !== undefined && !e.deleted;
  out.u8((e.deleted ? FLAG_DELETED : 0) | (hasTime ? FLAG_HAS_TIME : 0) | (e.mapKey !== undefined ? FLAG_HAS_MAP_KEY : 0));
  if (e.mapKey !== undefined) writeKey(out, e.mapKey);
  if (hasTime) out.varint(Math.max(0, Math.floor(e.writtenAt!)));
  if (!e.deleted) writeValue(out, e.value);
}

/** Reads what {@link writeEntry} wrote. */
export function readEntry(input: ByteReader): StateEntry {
  return readEntryFields(input, true);
}

/** Reads an entry's head as {@link writeEntry} wrote it and moves past its value without building it. */
export function readEntryHead(input: ByteReader): StateEntryHead {
  return readEntryFields(input, false);
}

function readEntryFields(input: ByteReader, withValue: boolean): StateEntry {
  const key: StateKey = readKey(input);
  const flags = input.u8();
  const mapKey = flags & FLAG_HAS_MAP_KEY ? readKey(input) : undefined;
  const writtenAt = flags & FLAG_HAS_TIME ? input.varint() : undefined;
  const deleted = (flags & FLAG_DELETED) !== 0;
  let value: unknown;
  if (!deleted) {
    if (withValue) value = readValue(input);
    else skipValue(input);
  }
  return { key, mapKey, deleted, writtenAt, value };
}

/** A block's encoded entries as objects (restore applies them one by one). */
export function decodeBlock(block: EncodedStateBlock, what: string): StateBlock {
  const input = new ByteReader(block.bytes, what);
  const entries: StateEntry[] = new Array(block.count);
  for (let i = 0; i < block.count; i++) entries[i] = readEntry(input);
  return { state: block.state, split: block.split, keyGroup: block.keyGroup, entries };
}
