import type { CheckpointRef } from './checkpoint-ref.js';
import type { DeadLetterSink } from './dead-letter.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { MaintenanceContext, OutputMaintainer } from './output-maintenance.js';
import type { VersionedSerializer } from './serializer.js';
import type { Clock } from './time/clock.js';

/** What a sink writer or committer gets when it is created. */
export interface SinkContext {
  readonly jobName: string;
  readonly stepId: string;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly deadLetters: DeadLetterSink;
  /**
   * Fencing token of this instance's lease (monotonic per job). Committers record it and refuse
   * to commit when a higher one already committed, so a zombie instance cannot commit.
   */
  readonly fencingToken: () => bigint;
  /** The runtime's clock (timestamps of commits, retry waits). */
  readonly clock: Clock;
  /** Where this run's checkpoints go (the job name, or the instance's scope in group mode); checkpoint ids are unique within it. */
  readonly checkpointScope: string;
  /** Told where the output is and what each commit published (the web console, the exit summary); committers report to it. */
  readonly observer?: SinkObserver;
}

/** Where a sink's output is, as people read it. */
export interface OutputDescription {
  /** What kind of output (`iceberg`). */
  readonly kind: string;
  /** Its name, e.g. the table `sink.orders`. */
  readonly name: string;
  /** Where it lives: the table's location (a folder or an `s3://` URI). */
  readonly location: string;
  /** The catalog, e.g. `local warehouse /data/warehouse` or `S3 Tables arn:aws:s3tables:…`. */
  readonly catalog: string;
  /** AWS region of the output, when it is in AWS (a reader needs it). */
  readonly region?: string;
  /** What a reader opens to read the output as of now (Iceberg: the current metadata file). */
  readonly metadataLocation?: string;
  /** Rows the output holds now, when known (Iceberg: the current snapshot's `total-records`). */
  readonly totalRows?: number;
}

/** One commit a sink published. */
export interface PublishedCommit {
  readonly checkpointId: number;
  /** The output's id of the commit (Iceberg: the snapshot id). */
  readonly id: string;
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  /** Epoch millis. */
  readonly committedAt: number;
  readonly durationMs: number;
  /** Attempts including optimistic-concurrency retries. */
  readonly attempts: number;
}

/** Receives what committers report; calls must be cheap (they run on the committing thread). */
export interface SinkObserver {
  /** The output of sink step `stepId` was opened or moved on (after each commit). */
  output(stepId: string, output: OutputDescription): void;
  /** Sink step `stepId` published a commit. */
  committed(stepId: string, commit: PublishedCommit): void;
}

/**
 * First phase (Flink Sink V2 `SinkWriter`): buffers and writes; `prepareCommit` flushes and
 * returns committables that are stored in the checkpoint — nothing becomes visible yet.
 */
export interface SinkWriter<T, C> {
  write(records: readonly T[]): Promise<void> | void;
  /** Called on a barrier: close open files and hand over what the next commit must publish. */
  prepareCommit(checkpointId: number): Promise<readonly C[]>;
  /**
   * Optional asynchronous form of `prepareCommit`: called on a barrier, it seals what was written
   * before returning — records written afterwards belong to the next checkpoint — and its promise
   * resolves with the committables once they are durable. The barrier is acknowledged at once and
   * the checkpoint waits for the promise in its asynchronous phase (closing and uploading files
   * then overlaps with processing). A rejection fails the sink.
   */
  seal?(checkpointId: number): Promise<readonly C[]>;
  close(): Promise<void>;
}

/**
 * Where the source stood at a checkpoint, split by split: a commit that publishes the checkpoint
 * records it, so the output itself tells up to where each split is in it and which checkpoint
 * holds the matching state.
 */
export interface SplitProgress {
  /** Split id → next position (for Kafka: the next offset) of every split the instance owned. */
  readonly positions: Readonly<Record<string, number>>;
  /** The checkpoint whose state matches these positions. */
  readonly checkpoint: CheckpointRef;
}

/** What the output holds of one split: records before `position`, state in `checkpoint`. */
export interface CommittedSplit {
  readonly position: number;
  readonly checkpoint: CheckpointRef;
}

/** Committables of one checkpoint, as handed to the committer. */
export interface CommitRequest<C> {
  readonly checkpointId: number;
  readonly committables: readonly C[];
  /** Present when the source reads splits (every request then carries them, even with no committables). */
  readonly splits?: SplitProgress;
}

/** How a commit was asked for. */
export interface CommitOptions {
  /** The final checkpoint of a run (graceful stop, hand-over before a rebalance): publish split progress even without data. */
  readonly final?: boolean;
}

/**
 * Second phase: publish. Called after the checkpoint that holds `requests` is complete, and again
 * after a restore for whatever the restored checkpoint still had pending. Must be idempotent:
 * a request already committed before a crash is recognized and skipped.
 */
export interface Committer<C> {
  commit(requests: readonly CommitRequest<C>[], options?: CommitOptions): Promise<void>;
  /**
   * Group mode: reads what the output holds of these splits and takes them over — from now on
   * this committer only publishes progress that continues exactly from there, and refuses
   * (FencedError) once another instance published progress for any of them. Committers that
   * cannot record split progress atomically with their data leave this out; group mode then
   * refuses the job at start.
   */
  claimSplits?(splits: readonly string[]): Promise<ReadonlyMap<string, CommittedSplit>>;
  /** What the output holds of every split it has progress for (read only; nothing is claimed). */
  committedSplits?(): Promise<ReadonlyMap<string, CommittedSplit>>;
  /** Checkpoints of `scope` the output currently points at (as of the last claim or commit): retention keeps them. */
  referencedCheckpoints?(scope: string): ReadonlySet<number>;
  close(): Promise<void>;
}

/** A sink with exactly-once delivery through two-phase commit. */
export interface TwoPhaseCommitSink<T, C> {
  readonly kind: string;
  readonly committableSerializer: VersionedSerializer<C>;
  createWriter(ctx: SinkContext): Promise<SinkWriter<T, C>>;
  createCommitter(ctx: SinkContext): Promise<Committer<C>>;
  /** Outputs that need maintenance (compaction, expiry, orphan removal) offer a maintainer (`maintain <job>`, MAINTAIN_INTERVAL_MS). */
  createMaintainer?(ctx: MaintenanceContext): Promise<OutputMaintainer<C>>;
}
