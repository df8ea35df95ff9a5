/**
 * Every error the framework raises on purpose. One place defines them so that users can
 * `instanceof`-check and operators can tell retriable failures from fatal ones (as kafkajs'
 * `KafkaJSError` does).
 */
export class StreamlineError extends Error {
  /** True when retrying the same operation later may succeed (network, throttling, conflicts). */
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** A setting is missing or invalid; the message names the setting (env var or flag). */
export class ConfigError extends StreamlineError {
  constructor(readonly setting: string, message: string) {
    super(`Invalid configuration ${setting}: ${message}`);
  }
}

/** The job definition itself is wrong (duplicate step ids, missing sink, ...). */
export class JobDefinitionError extends StreamlineError {}

/** A checkpoint could not be taken or stored; the job keeps running, the checkpoint is counted as failed. */
export class CheckpointError extends StreamlineError {
  constructor(readonly checkpointId: number, message: string, options: { cause?: unknown } = {}) {
    super(`Checkpoint ${checkpointId}: ${message}`, { retriable: true, ...options });
  }
}

/** A stored checkpoint or state blob cannot be read (missing metadata, checksum mismatch, unknown version). */
export class CorruptCheckpointError extends StreamlineError {}

/** Restoring the job from a checkpoint failed. */
export class RestoreError extends StreamlineError {}

/** This instance no longer holds the job's lease: a newer holder took over. Never retriable. */
export class LeaseLostError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/** A commit was refused because a newer fencing token has already committed. */
export class FencedError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/** The group of instances rebalanced meanwhile: an assignment a run started with is not current any more. */
export class StaleAssignmentError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

/** Optimistic-concurrency conflict (e.g. S3 Tables version token mismatch); retry after re-reading. */
export class CommitConflictError extends StreamlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** A record could not be decoded or validated; it becomes a dead letter, never a crash. */
export class RecordRejectedError extends StreamlineError {
  constructor(readonly reason: DeadLetterReason, message: string) {
    super(message);
  }
}

/** Bounded set of dead-letter reasons (bounded so metrics labels stay low-cardinality). */
export type DeadLetterReason = 'malformed_json' | 'schema_violation' | 'too_large' | 'transform_failed' | 'late_record' | 'sink_rejected';
