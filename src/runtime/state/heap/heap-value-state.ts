import { StreamlineError } from '../../../errors.js';
import type { CoalescedValueWrites } from '../changelog/coalesced-value-writes.js';
import type { KeyCursor } from '../key-cursor.js';
import type { ValueState } from '../keyed-state-backend.js';
import type { HeapStateTable } from './heap-state-table.js';

function requireKey(cursor: KeyCursor, table: HeapStateTable): void {
  if (!cursor.set) throw new StreamlineError(`state '${table.name}' used before setCurrentKey`);
}

/** The current key's row, given one at its first write (see KeyRows). */
export type RowForWrite = (cursor: KeyCursor) => number;

/** A value per key, without TTL; its writes reach the changelog through CoalescedValueWrites. */
export class HeapValueState<V> implements ValueState<V> {
  constructor(
    private readonly cursor: KeyCursor,
    private readonly table: HeapStateTable,
    private readonly writes: CoalescedValueWrites,
    private readonly rowForWrite: RowForWrite,
  ) {}

  get(): V | undefined {
    return this.table.get(this.cursor.row) as V | undefined;
  }

  set(value: V): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    this.table.put(this.rowForWrite(cursor), value, 0);
    this.writes.set(this.table.index, cursor.writeSplit(), cursor.key, undefined, value);
  }

  clear(): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    if (!this.table.has(cursor.row)) return;
    // Read before the remove, which frees the key's row when no other state holds it.
    const split = cursor.writeSplit();
    const key = cursor.key;
    this.table.remove(cursor.row);
    this.writes.delete(this.table.index, split, key);
  }
}

/** A value per key that expires `ttlMs` after it was written. */
export class HeapTtlValueState<V> implements ValueState<V> {
  constructor(
    private readonly cursor: KeyCursor,
    private readonly table: HeapStateTable,
    private readonly writes: CoalescedValueWrites,
    private readonly ttlMs: number,
    private readonly rowForWrite: RowForWrite,
  ) {}

  get(): V | undefined {
    const cursor = this.cursor;
    const table = this.table;
    const row = cursor.row;
    if (!table.has(row)) return undefined;
    if (cursor.time() - table.writtenAt(row) >= this.ttlMs) {
      // Expired: gone from memory; the files drop it by its time, so no tombstone is needed.
      table.remove(row);
      return undefined;
    }
    return table.get(row) as V;
  }

  set(value: V): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    const now = cursor.time();
    this.table.put(this.rowForWrite(cursor), value, now);
    this.writes.set(this.table.index, cursor.writeSplit(), cursor.key, now, value);
  }

  clear(): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    if (!this.table.has(cursor.row)) return;
    // Read before the remove, which frees the key's row when no other state holds it.
    const split = cursor.writeSplit();
    const key = cursor.key;
    this.table.remove(cursor.row);
    this.writes.delete(this.table.index, split, key);
  }
}
