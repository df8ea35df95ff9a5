/**
 * The binary keyed-state file (version 1), written and read as a stream of chunks:
 *
 * ```
 * 'SLKD' u8 version u8 kind(0 base, 1 delta) varint maxParallelism varint #states
 *   #states × (string name, u8 kind(0 value, 1 map), f64 ttlMs or -1)
 * block* : u32 payload length, payload =
 *   varint state index, string split ('' = no split), varint key group, varint #entries,
 *   #entries × (key, u8 flags(1 deleted, 2 has time, 4 has map key), [map key], [varint writtenAt], [value])
 * u32 0, 'SLKE'
 * ```
 *
 * Blocks come in (state name, split, key group) order and each block's entries in key (then map
 * key) order, so files of one chain merge in one pass and a restore can skip the key groups and
 * splits it does not own. A base holds every live entry; a delta holds what changed since the
 * previous file of its chain, including deletions (tombstones). For map state, an entry without
 * a map key is a tombstone of the key's whole map.
 */
import type { StateKey } from '../state-key.js';
import { compareKeys } from './state-value-codec.js';

export const STATE_FILE_VERSION = 1;
export const STATE_FILE_MAGIC = Buffer.from('SLKD', 'ascii');
export const STATE_FILE_END = Buffer.from('SLKE', 'ascii');

export const FLAG_DELETED = 1;
export const FLAG_HAS_TIME = 2;
export const FLAG_HAS_MAP_KEY = 4;

export type StateKind = 'value' | 'map';

/** A declared state as files record it. */
export interface StateInfo {
  readonly name: string;
  readonly kind: StateKind;
  readonly ttlMs: number | null;
}

export interface StateFileHeader {
  readonly kind: 'base' | 'delta';
  readonly maxParallelism: number;
  readonly states: readonly StateInfo[];
}

/** One entry of a block. */
export interface StateEntry {
  readonly key: StateKey;
  /** Map state: the map key; absent on a tombstone of the whole map. */
  readonly mapKey?: StateKey;
  readonly deleted: boolean;
  /** When the value was written (TTL states). */
  readonly writtenAt?: number;
  readonly value?: unknown;
}

/** The entries of one state, split and key group, sorted by {@link compareEntries}. */
export interface StateBlock {
  readonly state: string;
  readonly split: string;
  readonly keyGroup: number;
  readonly entries: StateEntry[];
}

/**
 * A block whose entries are already encoded as a file holds them: a delta built from changelogs
 * is copied into its file as it is, without decoding its entries into objects and encoding them again.
 */
export interface EncodedStateBlock {
  readonly state: string;
  readonly split: string;
  readonly keyGroup: number;
  /** Entries in `bytes`. */
  readonly count: number;
  /** `count` entries as `writeEntry` encodes them, sorted by {@link compareEntries}. */
  readonly bytes: Uint8Array;
}

/** Order of blocks in a file: by state name, split, key group. */
export function compareBlocks(a: Pick<StateBlock, 'state' | 'split' | 'keyGroup'>, b: Pick<StateBlock, 'state' | 'split' | 'keyGroup'>): number {
  if (a.state !== b.state) return a.state < b.state ? -1 : 1;
  if (a.split !== b.split) return a.split < b.split ? -1 : 1;
  return a.keyGroup - b.keyGroup;
}

/** Order of entries in a block: by key, then the whole-map tombstone, then map keys. */
export function compareEntries(a: StateEntry, b: StateEntry): number {
  const byKey = compareKeys(a.key, b.key);
  if (byKey !== 0) return byKey;
  if (a.mapKey === undefined) return b.mapKey === undefined ? 0 : -1;
  if (b.mapKey === undefined) return 1;
  return compareKeys(a.mapKey, b.mapKey);
}
