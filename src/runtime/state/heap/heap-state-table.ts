import type { StateKey } from '../state-key.js';
import type { StateInfo, StateKind } from '../format/state-file.js';
import { grown } from '../grown-array.js';
import { NO_ROW, type KeyRows } from './key-rows.js';

/** A TTL map state's inner value and when it was written; replaced, never mutated (snapshots may still read it). */
export interface TtlEntry<V> {
  readonly v: V;
  readonly t: number;
}

/** What a row holds in a state where its key has no entry. */
const ABSENT: unique symbol = Symbol('absent');

const INITIAL_ROWS = 1024;

/**
 * One declared state on the heap, in columns indexed by the key's row (KeyRows): the value (the
 * inner Map for map state) and, with a TTL, the time of the last write and the write order — a
 * doubly linked list of rows, oldest first, so expiry only ever looks at its front
 * (`expireFront`). A value's time is a column of doubles, not a field of an object per entry.
 */
export class HeapStateTable {
  private readonly vals: unknown[] = [];
  private times: Float64Array;
  private prev: Int32Array;
  private next: Int32Array;
  private head = NO_ROW;
  private tail = NO_ROW;
  /** Keys with an entry. */
  size = 0;
  /**
   * Set after a restore: restored keys came in key order, not write order, so expired ones may
   * hide behind live ones. A sweep over the whole table (`sweep`) runs until write order holds.
   */
  unordered = false;
  private sweepNext = NO_ROW;
  private sweepStarted = false;
  private sweepMonotonic = true;
  private sweepLastTime = -Infinity;

  constructor(
    readonly name: string,
    readonly kind: StateKind,
    readonly ttlMs: number | undefined,
    /** Index of the state in changelogs. */
    readonly index: number,
    private readonly rows: KeyRows,
  ) {
    const capacity = ttlMs === undefined ? 0 : INITIAL_ROWS;
    this.times = new Float64Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  get info(): StateInfo {
    return { name: this.name, kind: this.kind, ttlMs: this.ttlMs ?? null };
  }

  has(row: number): boolean {
    return row >= 0 && row < this.vals.length && this.vals[row] !== ABSENT;
  }

  /** The row's value (its inner Map for map state), undefined when it has none. */
  get(row: number): unknown {
    if (row < 0 || row >= this.vals.length) return undefined;
    const v = this.vals[row];
    return v === ABSENT ? undefined : v;
  }

  /** Sets the row's value; with a TTL `time` is its write time and the row moves to the end of the write order. */
  put(row: number, value: unknown, time: number): void {
    const vals = this.vals;
    while (vals.length <= row) vals.push(ABSENT);
    const fresh = vals[row] === ABSENT;
    vals[row] = value;
    if (fresh) {
      this.size++;
      this.rows.hold(row);
    }
    if (this.ttlMs === undefined) return;
    if (row >= this.times.length) this.grow(row + 1);
    this.times[row] = time;
    if (!fresh) {
      if (this.tail === row) return;
      this.unlink(row);
    }
    this.append(row);
  }

  /** Deletes the row's entry; returns whether it had one. The key's row is freed when no state holds it. */
  remove(row: number): boolean {
    if (!this.has(row)) return false;
    this.vals[row] = ABSENT;
    this.size--;
    if (this.ttlMs !== undefined) this.unlink(row);
    this.rows.release(row);
    return true;
  }

  /** Last write of a row's entry (a map's newest entry), for TTL states. */
  writtenAt(row: number): number {
    if (this.kind === 'value') return this.times[row]!;
    let newest = -Infinity;
    for (const e of (this.vals[row] as Map<StateKey, TtlEntry<unknown>>).values()) if (e.t > newest) newest = e.t;
    return newest;
  }

  /** Deletes expired entries from the front (oldest writes) until a live one or `budget` deletions. Returns the deletions made. */
  expireFront(now: number, budget: number): number {
    const ttl = this.ttlMs;
    if (ttl === undefined) return 0;
    let deleted = 0;
    while (deleted < budget && this.head !== NO_ROW && now - this.writtenAt(this.head) >= ttl) {
      this.remove(this.head);
      deleted++;
    }
    return deleted;
  }

  /**
   * One step of the sweep of an unordered table: looks at up to `budget` entries, deleting expired
   * ones. A full pass that saw writes in order ends the sweeping (`unordered` becomes false).
   */
  sweep(now: number, budget: number): void {
    const ttl = this.ttlMs;
    if (ttl === undefined || !this.unordered) return;
    if (!this.sweepStarted) {
      this.sweepStarted = true;
      this.sweepNext = this.head;
    }
    for (let seen = 0; seen < budget; seen++) {
      const row = this.sweepNext;
      if (row === NO_ROW) {
        if (this.sweepMonotonic) this.unordered = false;
        this.sweepStarted = false;
        this.sweepMonotonic = true;
        this.sweepLastTime = -Infinity;
        return;
      }
      this.sweepNext = this.next[row]!;
      const t = this.writtenAt(row);
      if (now - t >= ttl) {
        this.remove(row);
        continue;
      }
      if (t < this.sweepLastTime) this.sweepMonotonic = false;
      this.sweepLastTime = t;
    }
  }

  /**
   * Takes over every entry of `from` (the same state restored with another TTL), each value passed
   * through `convert`; entries without a time get `now`. Rows stay held: only the table changes.
   */
  takeOver(from: HeapStateTable, convert: (value: unknown) => unknown, now: number): void {
    for (let row = 0; row < from.vals.length; row++) {
      if (from.vals[row] === ABSENT) continue;
      const time = from.ttlMs === undefined || from.kind !== 'value' ? now : from.times[row]!;
      this.put(row, convert(from.vals[row]), time);
      this.rows.release(row);
    }
  }

  private append(row: number): void {
    this.prev[row] = this.tail;
    this.next[row] = NO_ROW;
    if (this.tail === NO_ROW) this.head = row;
    else this.next[this.tail] = row;
    this.tail = row;
  }

  private unlink(row: number): void {
    const before = this.prev[row]!;
    const after = this.next[row]!;
    if (before === NO_ROW) this.head = after;
    else this.next[before] = after;
    if (after === NO_ROW) this.tail = before;
    else this.prev[after] = before;
    // A sweep that was to look at this row next looks at the one after it.
    if (this.sweepNext === row) this.sweepNext = after;
  }

  private grow(min: number): void {
    const capacity = Math.max(min, this.times.length * 2);
    this.times = grown(this.times, capacity);
    this.prev = grown(this.prev, capacity);
    this.next = grown(this.next, capacity);
  }
}
