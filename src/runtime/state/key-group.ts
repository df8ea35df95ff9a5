/**
 * Keys → key groups, Flink's scheme: a key hashes to one of `maxParallelism` key groups, and each
 * parallel instance owns a contiguous range of groups. The hash is part of the checkpoint format:
 * it must never change, or restored state would land in the wrong group.
 *
 * Hash (stable forever): the key as a string (numbers in their JavaScript decimal form, so `1`
 * and `'1'` share a group), encoded as UTF-8 (lone surrogates as U+FFFD), hashed with FNV-1a 32,
 * then scrambled with Murmur3's fmix32 so the low bits used by the modulo are well mixed.
 */
import type { StateKey } from './state-key.js';
import { fmix32 } from '../random.js';

/** Flink's default lower bound; enough groups for 128 instances. */
export const DEFAULT_MAX_PARALLELISM = 128;

/** Largest supported number of key groups (Flink's limit). */
export const UPPER_BOUND_MAX_PARALLELISM = 32768;

/** Inclusive range of key groups owned by one parallel instance. */
export interface KeyGroupRange {
  readonly start: number;
  /** Inclusive; `end < start` means empty. */
  readonly end: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Stable 32-bit hash of a key (see module comment). */
export function hashKey(key: StateKey): number {
  const s = typeof key === 'string' ? key : String(key);
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    // UTF-8 encode on the fly: no TextEncoder buffer per key on the hot path.
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        h = Math.imul(h ^ (0xf0 | (cp >>> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >>> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >>> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate, as TextEncoder does
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >>> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xe0 | (c >>> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >>> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    }
  }
  return fmix32(h >>> 0);
}

/**
 * {@link hashKey} of a string key from its UTF-8 bytes `bytes[start, end)`, without decoding it:
 * a state file or changelog holds keys as UTF-8 written from JavaScript strings (lone surrogates
 * already U+FFFD), which are exactly the bytes hashKey hashes.
 */
export function hashUtf8(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return fmix32(h >>> 0);
}

/** The key group of `key`, in [0, maxParallelism). */
export function keyGroupFor(key: StateKey, maxParallelism = DEFAULT_MAX_PARALLELISM): number {
  return hashKey(key) % maxParallelism;
}

/** Throws RangeError unless `maxParallelism` is an integer in [1, 32768]. */
export function checkMaxParallelism(maxParallelism: number): void {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new RangeError(`maxParallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${maxParallelism}`);
  }
}

function checkParallelism(parallelism: number, maxParallelism: number): void {
  checkMaxParallelism(maxParallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new RangeError(`parallelism must be an integer in [1, maxParallelism=${maxParallelism}], got ${parallelism}`);
  }
}

/** Key groups owned by instance `instanceIndex` of `parallelism` (same split as Flink). */
export function keyGroupRange(instanceIndex: number, parallelism: number, maxParallelism = DEFAULT_MAX_PARALLELISM): KeyGroupRange {
  checkParallelism(parallelism, maxParallelism);
  if (!Number.isInteger(instanceIndex) || instanceIndex < 0 || instanceIndex >= parallelism) {
    throw new RangeError(`instanceIndex must be an integer in [0, ${parallelism}), got ${instanceIndex}`);
  }
  const start = Math.floor((instanceIndex * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((instanceIndex + 1) * maxParallelism - 1) / parallelism);
  return { start, end };
}

/** The instance (of `parallelism`) that owns `keyGroup`; inverse of `keyGroupRange`. */
export function instanceForKeyGroup(keyGroup: number, parallelism: number, maxParallelism = DEFAULT_MAX_PARALLELISM): number {
  checkParallelism(parallelism, maxParallelism);
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** True when `keyGroup` lies in `range`. */
export function inKeyGroupRange(range: KeyGroupRange, keyGroup: number): boolean {
  return keyGroup >= range.start && keyGroup <= range.end;
}
