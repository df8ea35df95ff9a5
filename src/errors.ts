/**
 * The error vocabulary of the whole codebase — runtime, operators, table-format library, CLI —
 * defined in one place so that callers recognise errors by class (`instanceof`), never by name
 * strings, and tell transient failures (`retriable`) from fatal ones, as kafkajs' `KafkaJSError`.
 * Modules may subclass these for detail; they never start a second hierarchy.
 */

/** Base of every error the framework raises on purpose. */
export class StreamlineError extends Error {
  /** True when retrying the same operation later may succeed (network, throttling, conflicts). */
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** True when `error` says that retrying may succeed (a StreamlineError with `retriable`). */
export function isRetriable(error: unknown): boolean {
  return error instanceof StreamlineError && error.retriable;
}

/** A setting is missing or invalid; the message names the setting (env var or flag). */
export class ConfigError extends StreamlineError {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`Invalid configuration ${setting}: ${message}`);
  }
}

/** A command line could not be understood (unknown flag, missing argument); exit code 2. */
export class UsageError extends StreamlineError {}

/** The job definition itself is wrong (duplicate step ids, missing sink, ...). */
export class JobDefinitionError extends StreamlineError {}

/** A checkpoint could not be taken or stored; the job keeps running, the checkpoint is counted as failed. */
export class CheckpointError extends StreamlineError {
  constructor(
    readonly checkpointId: number,
    message: string,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(`Checkpoint ${checkpointId}: ${message}`, { retriable: true, ...options });
  }
}

/** A stored checkpoint or state blob cannot be read (missing metadata, checksum mismatch, unknown version). */
export class CorruptCheckpointError extends StreamlineError {}

/** Restoring the job from a checkpoint failed. */
export class RestoreError extends StreamlineError {}

/**
 * This instance may no longer publish anything: another instance took over. Never retriable;
 * a run that meets one stops at once. Recognise the family with `instanceof FencingError`.
 */
export abstract class FencingError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/** This instance no longer holds the job's lease: the store names a newer holder (a lease that may merely have expired is LeaseUnconfirmedError). */
export class LeaseLostError extends FencingError {}

/**
 * The lease was not confirmed by the store before its local expiry (the store is slow or
 * unreachable): nothing is committed until a renewal confirms it, or the store reports that
 * another instance took over (LeaseLostError). Retriable: the checkpoint fails, the run goes on.
 */
export class LeaseUnconfirmedError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

/** A commit was refused because a newer fencing token (or another owner of a split) already committed. */
export class FencedError extends FencingError {}

/**
 * A standby-mode run was assigned partitions its subtasks were not started with (another member
 * was in the consumer group when it started); the restart reads every partition.
 */
export class UnplannedSplitsError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

/** The group of instances rebalanced meanwhile: an assignment a run started with is not current any more. */
export class StaleAssignmentError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

/**
 * A rebalance's hand-over (final checkpoint and commit) did not finish within the group's
 * patience: the run was aborted without committing; the splits' next owners continue from their
 * previous commit, and this instance goes on with its next assignment.
 */
export class HandOverTimeoutError extends StreamlineError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

/**
 * Optimistic-concurrency conflict (S3 Tables version-token mismatch, HTTP 409, the local pointer
 * moved). Retriable: re-read, rebase, retry; staged data files stay valid.
 */
export class CommitConflictError extends StreamlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** A remote call did not answer within its deadline; retriable. The message names the dependency and the call. */
export class TimeoutError extends StreamlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, ...options });
  }
}

/**
 * A remote dependency (S3, S3 Tables, DynamoDB, Kafka) kept failing transiently until the retry
 * deadline passed. Retriable: the checkpoint fails, the run may start again later; the job fails
 * only past its tolerance, with this message, which names the dependency and the call.
 */
export class DependencyUnavailableError extends StreamlineError {
  constructor(
    /** The dependency that failed, e.g. `S3`, `DynamoDB`, `Kafka`. */
    readonly dependency: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { retriable: true, ...options });
  }
}

/** The dependency a failure names, if a DependencyUnavailableError is in its cause chain. */
export function failedDependency(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof DependencyUnavailableError) return e.dependency;
  }
  return undefined;
}

/**
 * More checkpoints failed in a row than the job tolerates (CHECKPOINT_TOLERABLE_FAILURES): the job
 * fails. Names the dependency behind the last failure when one is known.
 */
export class ToleranceExceededError extends StreamlineError {
  constructor(
    message: string,
    /** The dependency the last failure names (see DependencyUnavailableError), if any. */
    readonly dependency: string | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(message, { retriable: false, ...options });
  }
}

/** A record could not be decoded or validated; it becomes a dead letter, never a crash. */
export class RecordRejectedError extends StreamlineError {
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
  ) {
    super(message);
  }
}

/** Bounded set of dead-letter reasons (bounded so metrics labels stay low-cardinality). */
export type DeadLetterReason = 'malformed_json' | 'schema_violation' | 'too_large' | 'transform_failed' | 'late_record' | 'sink_rejected';

/** Base of the table-format library's errors (catalogs, metadata, Parquet, Avro). */
export class IcebergError extends StreamlineError {}

/** The table (or its namespace) does not exist in the catalog. */
export class NoSuchTableError extends IcebergError {}

/** The table metadata or a manifest is not valid for this library (e.g. unsupported format version). */
export class InvalidTableMetadataError extends IcebergError {}

/**
 * The job's table schema cannot be applied to the existing table (a rename, a required column
 * added, a type change Iceberg does not allow); the message names the column and what to do.
 */
export class IncompatibleSchemaError extends IcebergError {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
  }
}
