import type { Logger } from '../../logger.js';
import type { StateInfo } from '../format/state-file.js';
import type { SnapshotFileWriter } from './snapshot-file-writer.js';
import { snapshotFileName, type ChainInput, type SnapshotJob, type SnapshotResult } from './snapshot-files.js';
import { chainBytes, emptyChain, type StateChain } from './state-chain.js';
import { StateLostError, StateSnapshotError } from './state-snapshot-error.js';

/** When a chain is merged into a new base (in the background, never as part of a checkpoint). */
export interface MaterializationPolicy {
  /** Deltas after the base before materializing. Default 20. */
  readonly maxDeltas: number;
  /** Materialize once the deltas together are this large relative to the base. Default 1. */
  readonly maxDeltaRatio: number;
}

export const DEFAULT_MATERIALIZATION: MaterializationPolicy = { maxDeltas: 20, maxDeltaRatio: 1 };

/** What the keyed state of one checkpoint is, and what it cost. */
export interface KeyedStateSnapshot {
  readonly chain: StateChain;
  /** Bytes this checkpoint wrote (its delta; 0 when only earlier segments or nothing changed). */
  readonly writtenBytes: number;
  /** Bytes of the whole chain (the full state as stored). */
  readonly fullBytes: number;
}

/** What the manager needs besides the writer. */
export interface IncrementalSnapshotsOptions {
  readonly taskId: string;
  readonly scope: string;
  readonly maxParallelism: number;
  readonly writer: SnapshotFileWriter;
  readonly logger: Logger;
  readonly policy?: MaterializationPolicy;
  /** Current state declarations and split names (read when a job is made). */
  readonly states: () => readonly StateInfo[];
  readonly splits: () => readonly string[];
}

/**
 * The asynchronous side of one keyed operator's incremental checkpoints (Flink's changelog state
 * backend): changelog segments are written as delta files while processing goes on — one when a
 * segment fills, and the tail at each barrier — so a checkpoint only waits for its tail. Writes
 * run one at a time in order; a failed write keeps its changelogs for the next one (the checkpoint
 * that needed it fails, nothing is lost). When the deltas outgrow the policy, a background
 * materialization merges base and deltas into a new base, which later chains start from.
 */
export class IncrementalSnapshots {
  private chain: StateChain;
  /** Restored chains this backend holds only part of (or of another scope): the first write materializes them. */
  private inputs: readonly ChainInput[] | undefined;
  private carried: Uint8Array[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private materializing: Promise<void> | undefined;
  private lost: Error | undefined;
  /** Shared files this operator references or is writing: retention must keep them. */
  private readonly inUse = new Set<string>();
  private readonly policy: MaterializationPolicy;

  constructor(private readonly options: IncrementalSnapshotsOptions) {
    this.chain = emptyChain(options.maxParallelism);
    this.policy = options.policy ?? DEFAULT_MATERIALIZATION;
  }

  /**
   * The state was restored from `inputs`. A single whole chain of this scope is extended as it is;
   * anything else (parts of chains, other scopes, several chains) is merged into a base of this
   * scope by the first write.
   */
  restored(inputs: readonly ChainInput[]): void {
    const only = inputs.length === 1 ? inputs[0]! : undefined;
    const whole = only !== undefined && only.splits === undefined && only.keyGroups === undefined && only.chain.files.every((f) => f.scope === this.options.scope);
    if (whole) this.setChain(only.chain);
    else if (inputs.some((i) => i.chain.files.length > 0)) {
      this.inputs = inputs;
      for (const input of inputs) for (const f of input.chain.files) this.inUse.add(`${f.scope}/${f.name}`);
    }
  }

  /** A changelog segment filled up: write it in the background. */
  flush(log: Uint8Array, checkpointId: number, now: number): void {
    void this.enqueue(log, checkpointId, now).catch(() => undefined);
  }

  /** At a barrier: writes the tail segment (after everything before it); resolves with the checkpoint's state. */
  async checkpoint(log: Uint8Array, checkpointId: number, now: number): Promise<KeyedStateSnapshot> {
    const result = await this.enqueue(log, checkpointId, now);
    return { chain: result.chain, writtenBytes: result.written?.bytes ?? 0, fullBytes: chainBytes(result.chain) };
  }

  /** Names (`<scope>/<name>`) of the shared files this operator references or is writing. */
  sharedFilesInUse(): ReadonlySet<string> {
    return this.inUse;
  }

  /** Resolves when no write or materialization is running. */
  async settled(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.materializing;
  }

  private enqueue(log: Uint8Array, checkpointId: number, now: number): Promise<SnapshotResult> {
    const run = this.tail.catch(() => undefined).then(() => this.write(log, checkpointId, now));
    this.tail = run;
    return run;
  }

  private async write(log: Uint8Array, checkpointId: number, now: number): Promise<SnapshotResult> {
    if (this.lost) throw this.lost;
    const logs = log.byteLength === 0 ? this.carried : [...this.carried, log];
    this.carried = [];
    if (logs.length === 0 && this.inputs === undefined) return { chain: this.chain, changes: 0 };
    const job: SnapshotJob = {
      taskId: this.options.taskId,
      scope: this.options.scope,
      checkpointId,
      maxParallelism: this.options.maxParallelism,
      states: this.options.states(),
      splits: this.options.splits(),
      logs,
      chain: this.chain,
      ...(this.inputs === undefined ? {} : { materialize: this.inputs }),
      now,
      fileName: snapshotFileName(checkpointId, this.options.taskId),
    };
    const inUse = `${this.options.scope}/${job.fileName}`;
    this.inUse.add(inUse);
    let result: SnapshotResult;
    try {
      result = await this.options.writer.write(job, 'write');
    } catch (error) {
      this.inUse.delete(inUse);
      if (error instanceof StateSnapshotError) {
        this.carried = [...error.logs];
        throw error;
      }
      this.lost = error instanceof Error ? error : new StateLostError(String(error));
      throw this.lost;
    }
    this.inUse.delete(inUse);
    if (this.inputs !== undefined) {
      for (const input of this.inputs) for (const f of input.chain.files) this.inUse.delete(`${f.scope}/${f.name}`);
      this.inputs = undefined;
    }
    this.setChain(result.chain);
    this.maybeMaterialize(checkpointId, now);
    return result;
  }

  private setChain(chain: StateChain): void {
    for (const f of this.chain.files) this.inUse.delete(`${f.scope}/${f.name}`);
    this.chain = chain;
    for (const f of chain.files) this.inUse.add(`${f.scope}/${f.name}`);
  }

  /** Starts a background materialization when the deltas outgrew the policy. */
  private maybeMaterialize(checkpointId: number, now: number): void {
    if (this.materializing !== undefined) return;
    const files = this.chain.files;
    const deltas = files.length - 1;
    if (deltas < 1) return;
    const baseBytes = files[0]!.bytes;
    const deltaBytes = chainBytes(this.chain) - baseBytes;
    if (deltas < this.policy.maxDeltas && deltaBytes < baseBytes * this.policy.maxDeltaRatio) return;
    const prefix = this.chain;
    const job: SnapshotJob = {
      taskId: this.options.taskId,
      scope: this.options.scope,
      checkpointId,
      maxParallelism: this.options.maxParallelism,
      states: this.options.states(),
      splits: this.options.splits(),
      logs: [],
      chain: prefix,
      materialize: [{ chain: prefix }],
      now,
      fileName: snapshotFileName(checkpointId, this.options.taskId),
    };
    const output = `${this.options.scope}/${job.fileName}`;
    this.inUse.add(output);
    this.materializing = this.options.writer
      .write(job, 'materialize')
      .then((result) => {
        const base = result.written;
        if (base === undefined) {
          this.inUse.delete(output);
          return;
        }
        // Deltas written meanwhile follow the new base; the merged prefix is no longer needed.
        const later = this.chain.files.slice(prefix.files.length);
        const before = this.chain;
        this.chain = { maxParallelism: this.chain.maxParallelism, files: [base, ...later] };
        for (const f of before.files) this.inUse.delete(`${f.scope}/${f.name}`);
        for (const f of this.chain.files) this.inUse.add(`${f.scope}/${f.name}`);
        this.options.logger.debug({ step: this.options.taskId, baseBytes: base.bytes, merged: prefix.files.length }, 'keyed state materialized into a new base');
      })
      .catch((error: unknown) => {
        this.inUse.delete(output);
        this.options.logger.warn({ step: this.options.taskId, err: (error as Error).message }, 'materializing keyed state failed; the chain grows until the next attempt');
      })
      .finally(() => {
        this.materializing = undefined;
      });
  }
}
