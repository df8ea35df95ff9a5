import type { StateKey } from '../state-key.js';
import type { HeapStateTable, TtlEntry } from '../heap/heap-state-table.js';
import type { ChangelogWriter } from './changelog-writer.js';

/**
 * A window of writes is judged once it changed this many keys: fewer say little about the
 * workload (and cost little either way).
 */
const JUDGED_KEYS = 1_024;
/** Coalescing pays when keys are written at least this often per window; below, writes go straight to the log. */
const MIN_WRITES_PER_KEY = 1.5;
/** While writing straight to the log, every this many segments a window coalesces again, to look at the workload anew. */
const PROBE_EVERY_SEGMENTS = 8;

/**
 * How value-state writes reach the changelog. When keys repeat (counters, aggregates: the same
 * keys written over and over), the keys written since the last drain are kept once each with the
 * split of their latest write, and draining appends each key's current value (or a delete, where
 * the state no longer holds one): a segment costs the keys that changed, not the writes, so a
 * counter updated a million times between two checkpoints is logged once. Without it, an
 * always-ready source counting into 10,000 keys made ~60 MB of changelog a second, and every
 * checkpoint waited 1.3–1.5 s for the snapshot worker to read it.
 *
 * When keys do not repeat (deduplication: each key written once), keeping them costs a Map
 * insert per write for nothing, so writes go to the log as they happen; every few segments a
 * window coalesces again and the workload is judged anew.
 *
 * Values are read from the state itself when drained, which is exact because the log only needs
 * a key's last write: records of one (state, key) resolve last-write-wins, and records of
 * different keys are independent. Switching is exact too: keys are drained before writes go
 * straight to the log, and drained keys are appended after the records written before them.
 */
export class CoalescedValueWrites {
  private byState: (Map<StateKey, number> | undefined)[] = [];
  private count = 0;
  private writes = 0;
  private direct = false;
  private directSegments = 0;

  constructor(
    private readonly log: ChangelogWriter,
    /** The backend's tables by state index (the array is kept, its entries may be replaced). */
    private readonly tables: readonly HeapStateTable[],
  ) {}

  /** Keys waiting to be drained. */
  get size(): number {
    return this.count;
  }

  /** Whether writes go straight to the log now (keys did not repeat in the last window judged). */
  get writingThrough(): boolean {
    return this.direct;
  }

  /** The current key of `state` was set to `value` under `split` (`writtenAt` for TTL states). */
  set(state: number, split: number, key: StateKey, writtenAt: number | undefined, value: unknown): void {
    if (this.direct) this.log.set(state, split, key, undefined, writtenAt, value);
    else this.mark(state, split, key);
  }

  /** The current key of `state` was cleared under `split`. */
  delete(state: number, split: number, key: StateKey): void {
    if (this.direct) this.log.delete(state, split, key, undefined);
    else this.mark(state, split, key);
  }

  private mark(state: number, split: number, key: StateKey): void {
    let keys = this.byState[state];
    if (keys === undefined) keys = this.byState[state] = new Map();
    const before = keys.size;
    keys.set(key, split);
    this.count += keys.size - before;
    this.writes++;
  }

  /** Appends the current value of every waiting key to the log, and judges the window that ends. */
  drain(): void {
    if (this.count === 0) return;
    const byState = this.byState;
    const keysChanged = this.count;
    const writes = this.writes;
    this.byState = [];
    this.count = 0;
    this.writes = 0;
    const log = this.log;
    byState.forEach((keys, state) => {
      if (keys === undefined) return;
      const table = this.tables[state]!;
      const values = table.values;
      const ttl = table.ttlMs !== undefined;
      for (const [key, split] of keys) {
        const value = values.get(key);
        if (value === undefined && !values.has(key)) log.delete(state, split, key, undefined);
        else if (ttl) log.set(state, split, key, undefined, (value as TtlEntry<unknown>).t, (value as TtlEntry<unknown>).v);
        else log.set(state, split, key, undefined, undefined, value);
      }
    });
    if (keysChanged >= JUDGED_KEYS && writes < keysChanged * MIN_WRITES_PER_KEY) {
      this.direct = true;
      this.directSegments = 0;
    }
  }

  /** A changelog segment was handed over: while writing straight to the log, now and then a window coalesces again. */
  segmentSealed(): void {
    if (this.direct && ++this.directSegments >= PROBE_EVERY_SEGMENTS) this.direct = false;
  }
}
