/**
 * MurmurHash3 x86 32-bit with seed 0, the hash the Iceberg spec prescribes for bucket[N]
 * (Appendix B). Results are signed 32-bit, as Java's Guava returns them.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalize(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** murmur3_x86_32 of raw bytes (seed 0 unless given), as a signed 32-bit integer. */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const blocks = bytes.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i << 2;
    const k = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
    h = mixH(h, k);
  }
  const tail = blocks << 2;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = bytes[tail]!;
    if (rest > 1) k ^= bytes[tail + 1]! << 8;
    if (rest > 2) k ^= bytes[tail + 2]! << 16;
    h ^= mixK(k);
  }
  return finalize(h, bytes.length);
}

/**
 * Hash of a long as the spec defines it: its 8 little-endian bytes. ints, dates, times and
 * timestamps hash as longs too, so `hash(34) === hash(34L)`. Works on two 32-bit words, no allocation.
 */
export function murmur3Long(value: number | bigint): number {
  let lo: number;
  let hi: number;
  if (typeof value === 'bigint') {
    lo = Number(BigInt.asIntN(32, value));
    hi = Number(BigInt.asIntN(32, value >> 32n));
  } else {
    lo = value | 0;
    hi = Math.floor(value / 4294967296) | 0;
  }
  let h = mixH(0, lo);
  h = mixH(h, hi);
  return finalize(h, 8);
}

const encoder = new TextEncoder();

/** Hash of a string: its UTF-8 bytes. */
export function murmur3String(value: string): number {
  return murmur3Bytes(encoder.encode(value));
}
