import type { StateKey } from '../state-key.js';
import { ByteWriter } from '../format/byte-writer.js';
import { writeKey, writeValue } from '../format/state-value-codec.js';

/** Changelog record operations (low bits of the op byte). */
export const OP_SET = 1;
export const OP_DELETE = 2;
/** Map state: every entry of the key's map is deleted. */
export const OP_CLEAR_MAP = 3;
/** High bits of the op byte: a map key follows the key; a write time follows. */
export const OP_HAS_MAP_KEY = 0x10;
export const OP_HAS_TIME = 0x20;

/**
 * Flink's changelog idea on the heap: every state write is also appended here, in binary, as it
 * happens. At a barrier the log is handed over whole (`detach`, O(1), no copy), so the
 * synchronous part of a checkpoint costs nothing however large the state; a snapshot worker
 * turns the log into a delta file while processing goes on.
 *
 * Record: u8 op, varint state index, varint split index + 1 (0: no split), key, [map key],
 * [varint written-at], [value].
 */
export class ChangelogWriter {
  private out = new ByteWriter(256 * 1024);
  private count = 0;

  /** Records since the last detach. */
  get records(): number {
    return this.count;
  }

  get bytes(): number {
    return this.out.length;
  }

  set(state: number, split: number, key: StateKey, mapKey: StateKey | undefined, writtenAt: number | undefined, value: unknown): void {
    const out = this.out;
    out.u8(OP_SET | (mapKey === undefined ? 0 : OP_HAS_MAP_KEY) | (writtenAt === undefined ? 0 : OP_HAS_TIME));
    out.varint(state);
    out.varint(split + 1);
    writeKey(out, key);
    if (mapKey !== undefined) writeKey(out, mapKey);
    if (writtenAt !== undefined) out.varint(Math.max(0, Math.floor(writtenAt)));
    writeValue(out, value);
    this.count++;
  }

  delete(state: number, split: number, key: StateKey, mapKey: StateKey | undefined): void {
    const out = this.out;
    out.u8(OP_DELETE | (mapKey === undefined ? 0 : OP_HAS_MAP_KEY));
    out.varint(state);
    out.varint(split + 1);
    writeKey(out, key);
    if (mapKey !== undefined) writeKey(out, mapKey);
    this.count++;
  }

  clearMap(state: number, split: number, key: StateKey): void {
    const out = this.out;
    out.u8(OP_CLEAR_MAP);
    out.varint(state);
    out.varint(split + 1);
    writeKey(out, key);
    this.count++;
  }

  /** The log so far, without copying (transferable); the writer starts a new one. */
  detach(): Uint8Array {
    this.count = 0;
    return this.out.detach();
  }
}
