import type { DeadLetterSink } from './dead-letter.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { VersionedSerializer } from './serializer.js';

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
}

/**
 * First phase (Flink Sink V2 `SinkWriter`): buffers and writes; `prepareCommit` flushes and
 * returns committables that are stored in the checkpoint — nothing becomes visible yet.
 */
export interface SinkWriter<T, C> {
  write(records: readonly T[]): Promise<void> | void;
  /** Called on a barrier: close open files and hand over what the next commit must publish. */
  prepareCommit(checkpointId: number): Promise<readonly C[]>;
  close(): Promise<void>;
}

/** Committables of one checkpoint, as handed to the committer. */
export interface CommitRequest<C> {
  readonly checkpointId: number;
  readonly committables: readonly C[];
}

/**
 * Second phase: publish. Called after the checkpoint that holds `requests` is complete, and again
 * after a restore for whatever the restored checkpoint still had pending. Must be idempotent:
 * a request already committed before a crash is recognized and skipped.
 */
export interface Committer<C> {
  commit(requests: readonly CommitRequest<C>[]): Promise<void>;
  close(): Promise<void>;
}

/** A sink with exactly-once delivery through two-phase commit. */
export interface TwoPhaseCommitSink<T, C> {
  readonly kind: string;
  readonly committableSerializer: VersionedSerializer<C>;
  createWriter(ctx: SinkContext): Promise<SinkWriter<T, C>>;
  createCommitter(ctx: SinkContext): Promise<Committer<C>>;
}
