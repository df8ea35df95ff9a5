/**
 * Seeded, fast pseudo-random numbers (mulberry32) plus a stable 32-bit mixer, so generated data
 * is reproducible: the same seed and record index always give the same numbers, whatever the
 * batching, restarts or process. Not cryptographic.
 */

/** Murmur3's 32-bit finalizer: a cheap bijective avalanche on a 32-bit integer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 32-bit seed derived from `(seed, index)`; `index` may be any non-negative safe integer
 * (the high word is mixed in separately so indices past 2^32 do not wrap onto earlier ones).
 */
export function mixSeed(seed: number, index: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ lo);
  h = fmix32((h + Math.imul(hi, 0x27d4eb2f) + 0x165667b1) >>> 0);
  return h;
}

/**
 * A mulberry32 generator whose state can be re-seeded in place: one instance (and one bound
 * `next` function) serves any number of records without allocating per record.
 */
export class SeededRandom {
  private state: number;
  /** Uniform in [0, 1); bound once so it can be handed out as a plain function. */
  readonly next: () => number;

  constructor(seed = 0) {
    this.state = seed >>> 0;
    this.next = () => {
      this.state = (this.state + 0x6d2b79f5) >>> 0;
      let t = this.state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Restart the sequence from `seed`. */
  reseed(seed: number): void {
    this.state = seed >>> 0;
  }

  /** Integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.next() * bound);
  }
}

/** A standalone seeded generator function, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  return new SeededRandom(seed).next;
}
