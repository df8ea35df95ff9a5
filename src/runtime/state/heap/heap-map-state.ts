import { StreamlineError } from '../../../errors.js';
import type { ChangelogWriter } from '../changelog/changelog-writer.js';
import type { KeyCursor } from '../key-cursor.js';
import type { MapState, StateKey } from '../keyed-state-backend.js';
import type { HeapStateTable, TtlEntry } from './heap-state-table.js';

function requireKey(cursor: KeyCursor, table: HeapStateTable): void {
  if (!cursor.set) throw new StreamlineError(`state '${table.name}' used before setCurrentKey`);
}

/**
 * A map per key, optionally with TTL per map entry. Every write also goes to the changelog; with
 * TTL a write moves the key to the end of the table (write order, for expiry at the front).
 */
export class HeapMapState<K extends StateKey, V> implements MapState<K, V> {
  private readonly values: Map<StateKey, unknown>;

  constructor(
    private readonly cursor: KeyCursor,
    private readonly table: HeapStateTable,
    private readonly log: ChangelogWriter,
    private readonly ttlMs: number | undefined,
    /** The key's map is gone (it may need no split any more). */
    private readonly onGone: (key: StateKey) => void,
  ) {
    this.values = table.values;
  }

  private inner(): Map<K, unknown> | undefined {
    return this.values.get(this.cursor.key) as Map<K, unknown> | undefined;
  }

  /** The live value of an inner entry, dropping it when expired. */
  private live(m: Map<K, unknown>, key: K): { value: V } | undefined {
    const raw = m.get(key);
    if (raw === undefined && !m.has(key)) return undefined;
    if (this.ttlMs === undefined) return { value: raw as V };
    const e = raw as TtlEntry<V>;
    if (this.cursor.time() - e.t >= this.ttlMs) {
      m.delete(key);
      if (m.size === 0) this.values.delete(this.cursor.key);
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
    let m = this.inner();
    if (m === undefined) {
      m = new Map();
      this.values.set(cursor.key, m);
    } else if (this.ttlMs !== undefined) {
      this.values.delete(cursor.key);
      this.values.set(cursor.key, m);
    }
    if (this.ttlMs === undefined) {
      m.set(key, value);
      this.log.set(this.table.index, cursor.writeSplit(), cursor.key, key, undefined, value);
    } else {
      const now = cursor.time();
      m.set(key, { v: value, t: now } satisfies TtlEntry<V>);
      this.log.set(this.table.index, cursor.writeSplit(), cursor.key, key, now, value);
    }
  }

  delete(key: K): void {
    const cursor = this.cursor;
    const m = this.inner();
    if (m === undefined || !m.delete(key)) return;
    this.log.delete(this.table.index, cursor.writeSplit(), cursor.key, key);
    if (m.size === 0) {
      this.values.delete(cursor.key);
      this.onGone(cursor.key);
    }
  }

  *entries(): IterableIterator<[K, V]> {
    const m = this.inner();
    if (m === undefined) return;
    if (this.ttlMs === undefined) {
      yield* (m as Map<K, V>).entries();
      return;
    }
    const now = this.cursor.time();
    for (const [k, raw] of m) {
      const e = raw as TtlEntry<V>;
      if (now - e.t >= this.ttlMs) m.delete(k);
      else yield [k, e.v];
    }
    if (m.size === 0) this.values.delete(this.cursor.key);
  }

  clear(): void {
    const cursor = this.cursor;
    if (!cursor.set) requireKey(cursor, this.table);
    if (!this.values.delete(cursor.key)) return;
    this.log.clearMap(this.table.index, cursor.writeSplit(), cursor.key);
    this.onGone(cursor.key);
  }
}
