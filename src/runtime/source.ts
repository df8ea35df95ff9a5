import type { DeadLetterSink } from './dead-letter.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { VersionedSerializer } from './serializer.js';
import type { RemoteSplitFeed, SplitAssignment, SplitGroup } from './split-group.js';
import type { Clock } from './time/clock.js';

/** What a source gets when it opens. */
export interface SourceContext {
  readonly jobName: string;
  /** Stable step id of the source (`orders.input`), used for metric labels and state. */
  readonly stepId: string;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly deadLetters: DeadLetterSink;
  /** Aborted when the job stops; a waiting `poll` should resolve promptly after it. */
  readonly signal: AbortSignal;
  /** The runtime's clock: timers, waits and timestamps go through it (never `Date.now` or `setTimeout`). */
  readonly clock: Clock;
  /**
   * Set in group mode: this run owns exactly these splits of the group the source joined
   * (`Source.joinGroup`); the reader reads them, starting at the restored positions.
   */
  readonly assignment?: SplitAssignment;
}

/** One poll's result: records in order, plus the source's watermark after them (if it tracks event time). */
export interface SourceBatch<T> {
  readonly records: readonly T[];
  readonly watermark?: number;
  /** The split all records came from (see `DataBatch.split`); batches of split readers never mix splits. */
  readonly split?: string;
}

/**
 * A reader that the runtime pulls from (FLIP-27 style), so backpressure is natural: the runtime
 * only calls `poll` when the pipeline has room for another batch.
 *
 * Positions: `snapshot()` returns the position *after* the last batch returned by `poll` — the
 * runtime calls it exactly where it injects a barrier, so the snapshot matches the stream.
 */
export interface SourceReader<T, P> {
  /** Seek to `restored` positions, or to the configured start when undefined. */
  open(ctx: SourceContext, restored: P | undefined): Promise<void>;
  /**
   * The next batch. May wait until data is available; resolves `'end'` when bounded input is
   * exhausted, and `'idle'` when nothing arrived within its poll timeout (lets barriers through).
   */
  poll(): Promise<SourceBatch<T> | 'end' | 'idle'>;
  /**
   * A barrier or a stop is waiting: a `poll` that waits for data should return soon (with what
   * it has, or 'idle'). Optional for readers whose `poll` never waits long.
   */
  wakeup?(): void;
  snapshot(checkpointId: number): P;
  /** Checkpoint `checkpointId` is durable: e.g. commit Kafka offsets. Late or skipped ids are possible. */
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Positions of a source whose input is divided into splits (Kafka partitions): each split has a
 * numeric position (the next offset to read). Sinks record them with every commit, which is what
 * lets a split move to another instance exactly once.
 */
export interface SplitPositions<P> {
  /** Split id → next position, e.g. `{ 'orders:3': 1042 }`. */
  toSplits(position: P): Readonly<Record<string, number>>;
  fromSplits(positions: Readonly<Record<string, number>>): P;
}

/** A source as declared in a job: a factory plus how its positions are serialized. */
export interface Source<T, P = unknown> {
  /** Short type name for logs and metrics, e.g. 'kafka', 'datagen'. */
  readonly kind: string;
  readonly positionSerializer: VersionedSerializer<P>;
  /** Present when positions are per split (see {@link SplitPositions}). */
  readonly splits?: SplitPositions<P>;
  /** A fixed set of splits (a generator's): parallel subtasks share them without a group. */
  allSplits?(): readonly string[];
  /**
   * Group mode: joins the group of instances that share this source's splits (a Kafka consumer
   * group). Readers created afterwards read the splits of `SourceContext.assignment` through it.
   */
  joinGroup?(ctx: SourceGroupContext): Promise<SplitGroup>;
  /**
   * Parallel subtask: readers created afterwards read the splits of `SourceContext.assignment`
   * through `feed`, whose other end is the coordinator's group (see `SplitGroup.feed`).
   */
  useRemoteFeed?(feed: RemoteSplitFeed): void;
  createReader(): SourceReader<T, P>;
}

/** What a source gets when it joins its group. */
export interface SourceGroupContext {
  readonly jobName: string;
  readonly clock: Clock;
  readonly stepId: string;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}
