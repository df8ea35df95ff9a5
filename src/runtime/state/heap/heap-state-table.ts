import type { StateKey } from '../state-key.js';
import type { StateInfo, StateKind } from '../format/state-file.js';

/** A TTL state's value and when it was written; replaced, never mutated (snapshots may still read it). */
export interface TtlEntry<V> {
  readonly v: V;
  readonly t: number;
}

/**
 * One declared state on the heap: key → value (a TtlEntry with TTL; an inner map for map state).
 * With a TTL, a write moves its key to the end of the map, so the map runs oldest write first and
 * expiry only ever looks at its front (see `expireFront`).
 */
export class HeapStateTable {
  readonly values = new Map<StateKey, unknown>();
  /**
   * Set after a restore: restored keys came in key order, not write order, so expired ones may
   * hide behind live ones. A sweep over the whole table (`sweep`) runs until write order holds.
   */
  unordered = false;
  private sweepCursor: Iterator<[StateKey, unknown]> | undefined;
  private sweepMonotonic = true;
  private sweepLastTime = -Infinity;

  constructor(
    readonly name: string,
    readonly kind: StateKind,
    readonly ttlMs: number | undefined,
    /** Index of the state in changelogs. */
    readonly index: number,
  ) {}

  get info(): StateInfo {
    return { name: this.name, kind: this.kind, ttlMs: this.ttlMs ?? null };
  }

  /** Last write of a key's entry (a map's newest entry), for TTL states. */
  writtenAt(value: unknown): number {
    if (this.kind === 'value') return (value as TtlEntry<unknown>).t;
    let newest = -Infinity;
    for (const e of (value as Map<StateKey, TtlEntry<unknown>>).values()) if (e.t > newest) newest = e.t;
    return newest;
  }

  /**
   * Deletes expired keys from the front (oldest writes) until a live one or `budget` deletions;
   * reports each deleted key. Returns the deletions made.
   */
  expireFront(now: number, budget: number, onDeleted: (key: StateKey) => void): number {
    const ttl = this.ttlMs;
    if (ttl === undefined) return 0;
    let deleted = 0;
    for (const [key, value] of this.values) {
      if (deleted >= budget || now - this.writtenAt(value) < ttl) break;
      this.values.delete(key);
      onDeleted(key);
      deleted++;
    }
    return deleted;
  }

  /**
   * One step of the sweep of an unordered table: looks at up to `budget` entries, deleting expired
   * ones. A full pass that saw writes in order ends the sweeping (`unordered` becomes false).
   */
  sweep(now: number, budget: number, onDeleted: (key: StateKey) => void): void {
    const ttl = this.ttlMs;
    if (ttl === undefined || !this.unordered) return;
    this.sweepCursor ??= this.values.entries();
    for (let seen = 0; seen < budget; seen++) {
      const next = this.sweepCursor.next();
      if (next.done) {
        if (this.sweepMonotonic) this.unordered = false;
        this.sweepCursor = undefined;
        this.sweepMonotonic = true;
        this.sweepLastTime = -Infinity;
        return;
      }
      const [key, value] = next.value;
      const t = this.writtenAt(value);
      if (now - t >= ttl) {
        this.values.delete(key);
        onDeleted(key);
        continue;
      }
      if (t < this.sweepLastTime) this.sweepMonotonic = false;
      this.sweepLastTime = t;
    }
  }
}
