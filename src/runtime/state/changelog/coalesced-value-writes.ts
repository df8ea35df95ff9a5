import type { StateKey } from '../state-key.js';
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
 * Keys kept before they are drained after a batch: the drain runs on the task thread, and this
 * bounds it and the writes held for it (16,384 keys drained in 5–25 ms on a busy 2-core machine;
 * 65,536 took 35–90 ms).
 */
const MAX_KEPT_KEYS = 16_384;
/** Changelog bytes a key is assumed to take until a drain measured it. */
const FIRST_GUESS_BYTES_PER_KEY = 16;

/** A key's latest write in the window; updated in place while the key stays hot. */
interface LatestWrite {
  split: number;
  writtenAt: number | undefined;
  value: unknown;
  deleted: boolean;
}

/**
 * How value-state writes reach the changelog, for both keyed-state backends. When keys repeat
 * (counters, aggregates: the same keys written over and over), each key's latest write since the
 * last drain is kept, and draining appends one record per key: a segment costs the keys that
 * changed, not the writes, so a counter updated a million times between two checkpoints is logged
 * once. Before, an always-ready source counting into 10,000 keys made ~60 MB of changelog a
 * second, more than the snapshot worker reads, and every checkpoint waited 1.2–2.2 s for it.
 *
 * When keys do not repeat (deduplication: each key written once), keeping them costs a Map
 * insert per write for nothing, so writes go to the log as they happen; every few segments a
 * window keeps writes again and the workload is judged anew.
 *
 * Exact, because the log only needs a key's last write: records of one (state, key) resolve
 * last-write-wins, records of different keys are independent, kept writes are drained before
 * writes go straight to the log, and drained writes follow whatever was logged before them. A
 * value is serialized when drained, not when written: state values are replaced, not mutated.
 */
export class CoalescedValueWrites {
  private byState: (Map<StateKey, LatestWrite> | undefined)[] = [];
  private count = 0;
  private writes = 0;
  private direct = false;
  private directSegments = 0;
  /** Kept keys that make about a segment of changelog (learnt from the last drain). */
  private drainAt: number;

  constructor(
    private readonly log: ChangelogWriter,
    private readonly segmentBytes: number,
  ) {
    this.drainAt = this.keysPerSegment(FIRST_GUESS_BYTES_PER_KEY);
  }

  /** Whether writes go straight to the log now (keys did not repeat in the last window judged). */
  get writingThrough(): boolean {
    return this.direct;
  }

  /** The current key of `state` was set to `value` under `split` (`writtenAt` for TTL states). */
  set(state: number, split: number, key: StateKey, writtenAt: number | undefined, value: unknown): void {
    if (this.direct) this.log.set(state, split, key, undefined, writtenAt, value);
    else this.keep(state, key, split, writtenAt, value, false);
  }

  /** The current key of `state` was cleared under `split`. */
  delete(state: number, split: number, key: StateKey): void {
    if (this.direct) this.log.delete(state, split, key, undefined);
    else this.keep(state, key, split, undefined, undefined, true);
  }

  private keep(state: number, key: StateKey, split: number, writtenAt: number | undefined, value: unknown, deleted: boolean): void {
    this.writes++;
    let keys = this.byState[state];
    if (keys === undefined) keys = this.byState[state] = new Map();
    const latest = keys.get(key);
    if (latest !== undefined) {
      latest.split = split;
      latest.writtenAt = writtenAt;
      latest.value = value;
      latest.deleted = deleted;
      return;
    }
    keys.set(key, { split, writtenAt, value, deleted });
    this.count++;
  }

  /** After a batch: drains once about a segment's worth of keys is kept. */
  afterBatch(): void {
    if (this.count >= this.drainAt) this.drain();
  }

  /** Appends every kept write to the log (at a barrier, and when enough is kept), and judges the window that ends. */
  drain(): void {
    if (this.count === 0) return;
    const byState = this.byState;
    const keysChanged = this.count;
    const writes = this.writes;
    this.byState = [];
    this.count = 0;
    this.writes = 0;
    const log = this.log;
    const before = log.bytes;
    byState.forEach((keys, state) => {
      if (keys === undefined) return;
      for (const [key, w] of keys) {
        if (w.deleted) log.delete(state, w.split, key, undefined);
        else log.set(state, w.split, key, undefined, w.writtenAt, w.value);
      }
    });
    this.drainAt = this.keysPerSegment((log.bytes - before) / keysChanged);
    if (keysChanged >= JUDGED_KEYS && writes < keysChanged * MIN_WRITES_PER_KEY) {
      this.direct = true;
      this.directSegments = 0;
    }
  }

  /** A changelog segment was handed over: while writing straight to the log, now and then a window keeps writes again. */
  segmentSealed(): void {
    if (this.direct && ++this.directSegments >= PROBE_EVERY_SEGMENTS) this.direct = false;
  }

  private keysPerSegment(bytesPerKey: number): number {
    return Math.max(1, Math.min(MAX_KEPT_KEYS, Math.floor(this.segmentBytes / Math.max(1, bytesPerKey))));
  }
}
