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

/**
 * A state file that several checkpoints of one scope may reference (incremental keyed state:
 * a base and the deltas after it), stored under `<scope>/shared/`. Its name starts with the id of
 * the checkpoint that wrote it: retention deletes it once no retained checkpoint references it
 * and a newer checkpoint has completed.
 */
export interface SharedStateFile {
  readonly scope: string;
  /** `<checkpoint id>-<…>`, a safe path segment. */
  readonly name: string;
  readonly bytes: number;
  /** Hex SHA-256 of the stored bytes, verified when read. */
  readonly sha256: string;
}

/** How to open the same store in another thread (snapshot workers): a CHECKPOINT_URI and the settings it needs. */
export interface CheckpointStoreSpec {
  readonly uri: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The `_metadata` document: what a restore needs to find every operator's state. */
export interface CheckpointMetadata {
  /** 2 since shared (incremental) state; version 1 documents are read too. */
  readonly formatVersion: 1 | 2;
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
  /** Shared state files the checkpoint's state references (kept by retention while it is retained). */
  readonly sharedState?: readonly SharedStateFile[];
}

export interface CompletedCheckpoint {
  readonly metadata: CheckpointMetadata;
  /** Printable location (file path or s3:// URI) for logs and the HA pointer. */
  readonly location: string;
}

/** A checkpoint scope found in the store, and when anything in it last changed. */
export interface CheckpointScopeActivity {
  readonly scope: string;
  /** Epoch millis of the newest object (checkpoint, shared state file) of the scope. */
  readonly lastModifiedMs: number;
}

export interface CheckpointStore {
  /** Printable root, e.g. `file:///…/checkpoints` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** Set when the store can be opened again in a worker thread (else state files are written on the main thread). */
  readonly spec?: CheckpointStoreSpec;
  /**
   * Writes a shared state file from chunks as they are produced (never one whole buffer);
   * durable when the promise resolves. `name` must be unique (e.g. contain a uuid).
   */
  writeSharedState(scope: string, name: string, chunks: AsyncIterable<Uint8Array>): Promise<SharedStateFile>;
  /** Streams a shared state file; its checksum is verified at the end (CorruptCheckpointError on mismatch or a missing file). */
  readSharedState(file: SharedStateFile): AsyncIterable<Uint8Array>;
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
   * abandoned partial ones older than the newest completed), then the shared state files no
   * remaining checkpoint references that were written for checkpoints up to the newest completed.
   */
  prune(jobName: string, retain: number, keep?: ReadonlySet<number>, keepShared?: ReadonlySet<string>): Promise<void>;
  /** Scopes whose name starts with `namePrefix` (e.g. `orders.` for the instances of job orders), with their last activity. */
  listScopes(namePrefix: string): Promise<CheckpointScopeActivity[]>;
  /** Deletes a whole scope: every checkpoint and shared state file in it (maintenance, for instances that left). */
  discardScope(scope: string): Promise<void>;
}
