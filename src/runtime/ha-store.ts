/**
 * High-availability store: the role ZooKeeper / Kubernetes ConfigMaps play for Flink.
 * One lease per job with a fencing token, and per checkpoint location (CHECKPOINT_URI) the pointer
 * to the job's latest completed checkpoint there: checkpoint ids are only unique within one
 * location, so a pointer never names a checkpoint of another one. All writes are conditional so
 * that a stalled old instance cannot overwrite a newer one.
 */

export interface Lease {
  readonly jobName: string;
  /** Unique id of this instance (host:pid:random). */
  readonly owner: string;
  /** Strictly increasing per job across all holders; compare to fence stale holders. */
  readonly fencingToken: bigint;
  /** Epoch millis after which others may take the lease unless renewed. */
  readonly expiresAt: number;
}

export interface CheckpointPointer {
  readonly checkpointId: number;
  /** Printable location of the checkpoint (as CompletedCheckpoint.location). */
  readonly location: string;
  readonly fencingToken: bigint;
}

/** Bounds of one HA call: the lease keeper never waits on a renewal past the lease it protects. */
export interface HaCallOptions {
  /** Cancels the call (no further retry; the attempt in flight is aborted). */
  readonly signal?: AbortSignal;
  /** Bounds each attempt, below the client's own request timeouts. */
  readonly attemptTimeoutMs?: number;
}

/** Who holds a job's lease now (as stored; it may have expired). */
export interface LeaseHolder {
  readonly owner: string;
  readonly fencingToken: bigint;
  /** Epoch millis; 0 after a release. */
  readonly expiresAt: number;
}

export interface HaStore {
  /** Printable description, e.g. `dynamodb://table` or `file:///…`. */
  readonly uri: string;
  /**
   * Takes the lease if it is free or expired (bumping the fencing token), or returns undefined
   * when another live owner holds it.
   */
  tryAcquire(jobName: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends the lease; throws LeaseLostError when someone else took it meanwhile. */
  renew(lease: Lease, ttlMs: number, options?: HaCallOptions): Promise<Lease>;
  /** Gives the lease up (graceful stop) so a standby can take over at once. */
  release(lease: Lease, options?: HaCallOptions): Promise<void>;
  /** The lease as stored, or undefined when the job never had one (for `inspect`). */
  readLease(jobName: string): Promise<LeaseHolder | undefined>;
  /**
   * The pointer of the job's checkpoints in `checkpoints` (a checkpoint store's URI), if one was
   * ever published there.
   */
  readPointer(jobName: string, checkpoints: string): Promise<CheckpointPointer | undefined>;
  /**
   * Publishes a newer checkpoint of the location `checkpoints`. Conditional: only the current
   * lease holder (token match) and only a higher checkpoint id than that location's pointer;
   * throws LeaseLostError / FencedError otherwise.
   */
  publishPointer(lease: Lease, checkpoints: string, pointer: Omit<CheckpointPointer, 'fencingToken'>): Promise<void>;
  /** Highest fencing token ever issued for the job (used to fence commits elsewhere). */
  currentToken(jobName: string): Promise<bigint>;
  close(): Promise<void>;
}
