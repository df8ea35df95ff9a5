/**
 * Durable storage for checkpoints. Layout (both stores): `<root>/<scope>/chk-<id>/<state objects>`
 * and `<root>/<scope>/chk-<id>/_metadata`, written last. A scope is the job name, or in group mode
 * `<job>.<instance id>` (every instance writes its own checkpoints; any instance may read them). A checkpoint without a readable
 * `_metadata` whose checksums match does not exist as far as restore is concerned.
 */

/** Where one operator's snapshot lives and how to verify it. */
export interface StateHandle {
  /** Store-relative name inside the checkpoint folder, e.g. `orders.dedup.state`. */
  readonly name: string;
  readonly bytes: number;
  /** Hex SHA-256 of the stored bytes. */
  readonly sha256: string;
}

/** The `_metadata` document: what a restore needs to find every operator's state. */
export interface CheckpointMetadata {
  readonly formatVersion: 1;
  readonly jobName: string;
  readonly checkpointId: number;
  /** Epoch millis the checkpoint was triggered. */
  readonly triggeredAt: number;
  /** Epoch millis all snapshots were durable. */
  readonly completedAt: number;
  /** Operator (step) id → state handle. */
  readonly operators: Readonly<Record<string, StateHandle>>;
  /** Fencing token of the instance that completed it. */
  readonly fencingToken: string;
}

export interface CompletedCheckpoint {
  readonly metadata: CheckpointMetadata;
  /** Printable location (file path or s3:// URI) for logs and the HA pointer. */
  readonly location: string;
}

export interface CheckpointStore {
  /** Printable root, e.g. `file:///…/checkpoints` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** Writes one operator's snapshot of `checkpointId`; durable when the promise resolves. */
  writeState(jobName: string, checkpointId: number, name: string, bytes: Uint8Array): Promise<StateHandle>;
  /** Writes `_metadata` last; after it resolves the checkpoint is complete. */
  commitMetadata(metadata: CheckpointMetadata): Promise<CompletedCheckpoint>;
  /** Reads and verifies one state object (checksum); throws CorruptCheckpointError on mismatch. */
  readState(jobName: string, checkpointId: number, handle: StateHandle): Promise<Uint8Array>;
  /**
   * Completed checkpoints, newest first. Incomplete or unreadable ones are skipped with a warning
   * naming them (through `onSkip`).
   */
  listCompleted(jobName: string, onSkip?: (checkpointId: number, reason: string) => void): Promise<CompletedCheckpoint[]>;
  /** Loads one checkpoint's metadata; throws CorruptCheckpointError when missing or corrupt. */
  load(jobName: string, checkpointId: number): Promise<CompletedCheckpoint>;
  /** Deletes everything of a checkpoint (completed or aborted). */
  discard(jobName: string, checkpointId: number): Promise<void>;
  /**
   * Highest checkpoint id with anything stored (complete or not). New checkpoints start above it,
   * so a partial checkpoint left by a crash is never written over.
   */
  highestCheckpointId(jobName: string): Promise<number | undefined>;
  /**
   * Keeps the newest `retain` completed checkpoints and those in `keep`, deletes older ones (and
   * abandoned partial ones older than the newest completed).
   */
  prune(jobName: string, retain: number, keep?: ReadonlySet<number>): Promise<void>;
}
