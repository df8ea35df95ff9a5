import { StreamlineError } from '../../../errors.js';
import type { CoalescedValueWrites } from '../changelog/coalesced-value-writes.js';
import type { KeyCursor } from '../key-cursor.js';
import type { StateKey, ValueState } from '../keyed-state-backend.js';
import type { HeapStateTable, TtlEntry } from './heap-state-table.js';

function requireKey(cursor: KeyCursor, table: HeapStateTable): void {
  if (!cursor.set) throw new StreamlineError(`state '${table.name}' used before setCurrentKey`);
}

/** A value per key, without TTL; its writes reach the changelog through CoalescedValueWrites. */
export class HeapValueState<V> implements ValueState<V> {
  private readonly values: Map<unknown, unknown>;

  constructor(
    private readonly cursor: KeyCursor,
    private readonly table: HeapStateTable,
    private readonly writes: CoalescedValueWrites,
    /** The key's entry is gone from this state (it may need no split any more). */
    private readonly onGone: (key: StateKey) => void,
  ) {
    this.values = table.values;
  }

  get(): V | undefined {
    return this.values.get(this.cursor.key) as V | undefined;
  }

  set(value: V): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    this.values.set(cursor.key, value);
    this.writes.set(this.table.index, cursor.writeSplit(), cursor.key, undefined, value);
  }

  clear(): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    if (!this.values.delete(cursor.key)) return;
    this.writes.delete(this.table.index, cursor.writeSplit(), cursor.key);
    this.onGone(cursor.key);
  }
}

/** A value per key that expires `ttlMs` after it was written. */
export class HeapTtlValueState<V> implements ValueState<V> {
  private readonly values: Map<unknown, unknown>;

  constructor(
    private readonly cursor: KeyCursor,
    private readonly table: HeapStateTable,
    private readonly writes: CoalescedValueWrites,
    private readonly ttlMs: number,
    private readonly onGone: (key: StateKey) => void,
  ) {
    this.values = table.values;
  }

  get(): V | undefined {
    const cursor = this.cursor;
    const e = this.values.get(cursor.key) as TtlEntry<V> | undefined;
    if (e === undefined) return undefined;
    if (cursor.time() - e.t >= this.ttlMs) {
      // Expired: gone from memory; the files drop it by its time, so no tombstone is needed.
      this.values.delete(cursor.key);
      return undefined;
    }
    return e.v;
  }

  set(value: V): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    const now = cursor.time();
    // Delete first: the key moves to the end, so the map stays in write order (expiry looks at the front).
    this.values.delete(cursor.key);
    this.values.set(cursor.key, { v: value, t: now } satisfies TtlEntry<V>);
    this.writes.set(this.table.index, cursor.writeSplit(), cursor.key, now, value);
  }

  clear(): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    if (!this.values.delete(cursor.key)) return;
    this.writes.delete(this.table.index, cursor.writeSplit(), cursor.key);
    this.onGone(cursor.key);
  }
}
