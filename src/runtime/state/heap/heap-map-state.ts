import { StreamlineError } from '../../../errors.js';
import type { ChangelogWriter } from '../changelog/changelog-writer.js';
import type { KeyCursor } from '../key-cursor.js';
import type { MapState, StateKey } from '../keyed-state-backend.js';
import type { HeapStateTable, TtlEntry } from './heap-state-table.js';
import type { RowForWrite } from './heap-value-state.js';

function requireKey(cursor: KeyCursor, table: HeapStateTable): void {
  if (!cursor.set) throw new StreamlineError(`state '${table.name}' used before setCurrentKey`);
}

/**
 * A map per key, optionally with TTL per map entry. Every write also goes to the changelog; with
 * TTL a write moves the key to the end of the table (write order, for expiry at the front).
 */
export class HeapMapState<K extends StateKey, V> implements MapState<K, V> {
  constructor(
    private readonly cursor: KeyCursor,
    private readonly table: HeapStateTable,
    private readonly log: ChangelogWriter,
    private readonly ttlMs: number | undefined,
    private readonly rowForWrite: RowForWrite,
  ) {}

  private inner(): Map<K, unknown> | undefined {
    return this.table.get(this.cursor.row) as Map<K, unknown> | undefined;
  }

  /** The live value of an inner entry, dropping it when expired. */
  private live(m: Map<K, unknown>, key: K): { value: V } | undefined {
    const raw = m.get(key);
    if (raw === undefined && !m.has(key)) return undefined;
    if (this.ttlMs === undefined) return { value: raw as V };
    const e = raw as TtlEntry<V>;
    if (this.cursor.time() - e.t >= this.ttlMs) {
      m.delete(key);
      if (m.size === 0) this.table.remove(this.cursor.row);
      return undefined;
    }
    return { value: e.v };
  }

  get(key: K): V | undefined {
    const m = this.inner();
    return m === undefined ? undefined : this.live(m, key)?.value;
  }

  has(key: K): boolean {
    const m = this.inner();
    return m !== undefined && this.live(m, key) !== undefined;
  }

  set(key: K, value: V): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    const m = this.inner() ?? new Map<K, unknown>();
    if (this.ttlMs === undefined) {
      m.set(key, value);
      this.table.put(this.rowForWrite(cursor), m, 0);
      this.log.set(this.table.index, cursor.writeSplit(), cursor.key, key, undefined, value);
    } else {
      const now = cursor.time();
      m.set(key, { v: value, t: now } satisfies TtlEntry<V>);
      this.table.put(this.rowForWrite(cursor), m, now);
      this.log.set(this.table.index, cursor.writeSplit(), cursor.key, key, now, value);
    }
  }

  delete(key: K): void {
    const cursor = this.cursor;
    const m = this.inner();
    if (m === undefined || !m.delete(key)) return;
    // Read before a remove, which frees the key's row when no other state holds it.
    const split = cursor.writeSplit();
    const mapKey = cursor.key;
    if (m.size === 0) this.table.remove(cursor.row);
    this.log.delete(this.table.index, split, mapKey, key);
  }

  *entries(): IterableIterator<[K, V]> {
    const m = this.inner();
    if (m === undefined) return;
    if (this.ttlMs === undefined) {
      yield* (m as Map<K, V>).entries();
      return;
    }
    const now = this.cursor.time();
    // The cursor may be on another key by the time the caller has read every entry.
    const row = this.cursor.row;
    for (const [k, raw] of m) {
      const e = raw as TtlEntry<V>;
      if (now - e.t >= this.ttlMs) m.delete(k);
      else yield [k, e.v];
    }
    if (m.size === 0 && this.table.get(row) === m) this.table.remove(row);
  }

  clear(): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    if (!this.table.has(cursor.row)) return;
    const split = cursor.writeSplit();
    const key = cursor.key;
    this.table.remove(cursor.row);
    this.log.clearMap(this.table.index, split, key);
  }
}
