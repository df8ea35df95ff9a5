import type { StateKey } from '../state-key.js';
import type { HeapStateTable, TtlEntry } from '../heap/heap-state-table.js';
import type { ChangelogWriter } from './changelog-writer.js';

/**
 * Keys whose value state was written since the changelog was last drained, once each, with the
 * split of their latest write. Draining appends each key's current value (or a delete, where the
 * state no longer holds one) to the changelog, so a segment costs the keys that changed, not the
 * writes: a counter updated a million times between two checkpoints is logged once. Without it,
 * an always-ready source counting into 1,000 keys filled a 4 MiB segment every few milliseconds
 * and a checkpoint waited 0.9–1.7 s for the snapshot worker to read them all.
 *
 * The values are read from the state itself when drained, which is exact because the log only
 * ever needs a key's last write: records of one (state, key) resolve last-write-wins, and records
 * of different keys are independent. Map states are logged per write (a key's map may be large).
 */
export class CoalescedValueWrites {
  private byState: (Map<StateKey, number> | undefined)[] = [];
  private count = 0;

  /** Keys waiting to be drained. */
  get size(): number {
    return this.count;
  }

  /** The current key of `state` was written (or cleared) under `split`. */
  mark(state: number, split: number, key: StateKey): void {
    let keys = this.byState[state];
    if (keys === undefined) keys = this.byState[state] = new Map();
    const before = keys.size;
    keys.set(key, split);
    this.count += keys.size - before;
  }

  /** Appends the current value of every waiting key to `log`; `tables[i]` is state index i. */
  drainInto(log: ChangelogWriter, tables: readonly HeapStateTable[]): void {
    if (this.count === 0) return;
    const byState = this.byState;
    this.byState = [];
    this.count = 0;
    byState.forEach((keys, state) => {
      if (keys === undefined) return;
      const values = tables[state]!.values;
      const ttl = tables[state]!.ttlMs !== undefined;
      for (const [key, split] of keys) {
        const value = values.get(key);
        if (value === undefined && !values.has(key)) log.delete(state, split, key, undefined);
        else if (ttl) log.set(state, split, key, undefined, (value as TtlEntry<unknown>).t, (value as TtlEntry<unknown>).v);
        else log.set(state, split, key, undefined, undefined, value);
      }
    });
  }
}
