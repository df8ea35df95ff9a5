import type { DeadLetterSink } from './dead-letter.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { VersionedSerializer } from './serializer.js';

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
}

/** One poll's result: records in order, plus the source's watermark after them (if it tracks event time). */
export interface SourceBatch<T> {
  readonly records: readonly T[];
  readonly watermark?: number;
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
  snapshot(checkpointId: number): P;
  /** Checkpoint `checkpointId` is durable: e.g. commit Kafka offsets. Late or skipped ids are possible. */
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  close(): Promise<void>;
}

/** A source as declared in a job: a factory plus how its positions are serialized. */
export interface Source<T, P = unknown> {
  /** Short type name for logs and metrics, e.g. 'kafka', 'datagen'. */
  readonly kind: string;
  readonly positionSerializer: VersionedSerializer<P>;
  createReader(): SourceReader<T, P>;
}
