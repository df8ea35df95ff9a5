import type { Logger } from '../../logger.js';
import type { StateInfo } from '../format/state-file.js';
import type { SnapshotFileWriter } from './snapshot-file-writer.js';
import { snapshotFileName, type ChainInput, type SnapshotJob, type SnapshotResult } from './snapshot-files.js';
import { chainBytes, emptyChain, type StateChain } from './state-chain.js';
import type { KeyGroupRange } from '../key-group.js';
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
  /** Key groups the operator's state is limited to (a parallel subtask's share); recorded in every chain. */
  readonly keyGroups?: KeyGroupRange;
  /** Splits the operator's keys come from (a source-partitioned subtask's share); recorded in every chain. */
  readonly ownedSplits?: readonly string[];
  /** Current state declarations and split names (read when a job is made). */
  readonly states: () => readonly StateInfo[];
  readonly splits: () => readonly string[];
}

/**
 * Changelog segments (4 MiB each by default) queued for the snapshot writer before the task holds
 * its input back: the writer can fall behind a task that changes state at full speed.
 */
export const QUEUED_WRITES_LIMIT = 4;

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
  private carried: Uint8Array[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private materializing: Promise<void> | undefined;
  private lost: Error | undefined;
  /** Shared files this operator references or is writing: retention must keep them. */
  private readonly inUse = new Set<string>();
  /** Files of each checkpoint's chain, kept until that checkpoint is finished (its metadata then protects them). */
  private readonly pinned = new Map<number, string[]>();
  private readonly policy: MaterializationPolicy;
  /** Writes queued or running, oldest first. */
  private readonly queued: Promise<SnapshotResult>[] = [];

  constructor(private readonly options: IncrementalSnapshotsOptions) {
    this.chain = this.stamp(emptyChain(options.maxParallelism));
    this.policy = options.policy ?? DEFAULT_MATERIALIZATION;
    // Changelog segments fill within the first second at full speed: the writer is ready by then.
    options.writer.prestart?.('write');
  }

  /**
   * Whether a restored chain can simply be extended: all of one chain of this scope (a key-group
   * filter that covers every group the chain was written for takes all of it). Anything else
   * (part of a chain, another scope — whose files its owner may delete any time —, several chains)
   * is restored as writes, so this operator's first files hold it in its own scope.
   */
  canExtend(input: ChainInput): boolean {
    const wanted = input.keyGroups;
    const written = input.chain.keyGroups;
    const whole = wanted === undefined || (written !== undefined && written.start >= wanted.start && written.end <= wanted.end);
    const wantedSplits = input.splits === undefined ? undefined : new Set(input.splits);
    const writtenSplits = input.chain.splits;
    const allSplits = wantedSplits === undefined || (writtenSplits !== undefined && writtenSplits.every((s) => wantedSplits.has(s)));
    return allSplits && whole && input.chain.files.every((f) => f.scope === this.options.scope);
  }

  /** The state was restored from `chain`, which later checkpoints extend. */
  adopt(chain: StateChain): void {
    this.setChain(chain);
  }

  /** Writes queued and not finished (a restore writing its state waits when they pile up). */
  get pendingWrites(): number {
    return this.queued.length;
  }

  /** Undefined while fewer than {@link QUEUED_WRITES_LIMIT} writes are queued; else resolves when the oldest of them finished. */
  roomForWrites(): Promise<void> | undefined {
    if (this.queued.length < QUEUED_WRITES_LIMIT) return undefined;
    return this.queued[0]!.then(
      () => undefined,
      () => undefined,
    );
  }

  /** A changelog segment filled up: write it in the background. */
  flush(log: Uint8Array, checkpointId: number, now: number): void {
    void this.enqueue(log, checkpointId, now).catch(() => undefined);
  }

  /** At a barrier: writes the tail segment (after everything before it); resolves with the checkpoint's state. */
  async checkpoint(log: Uint8Array, checkpointId: number, now: number): Promise<KeyedStateSnapshot> {
    const result = await this.enqueue(log, checkpointId, now);
    this.pinned.set(
      checkpointId,
      result.chain.files.map((f) => `${f.scope}/${f.name}`),
    );
    return { chain: result.chain, writtenBytes: result.written?.bytes ?? 0, fullBytes: chainBytes(result.chain) };
  }

  /**
   * Checkpoint `checkpointId` completed (and retention ran after it) or was aborted: its chain
   * needs no protection beyond what its metadata gives.
   */
  checkpointFinished(checkpointId: number): void {
    this.pinned.delete(checkpointId);
  }

  /** Names (`<scope>/<name>`) of the shared files this operator references, is writing, or handed to a checkpoint not finished yet. */
  sharedFilesInUse(): ReadonlySet<string> {
    if (this.pinned.size === 0) return this.inUse;
    const names = new Set(this.inUse);
    for (const files of this.pinned.values()) for (const name of files) names.add(name);
    return names;
  }

  /** Resolves when no write or materialization is running. */
  async settled(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.materializing;
  }

  private enqueue(log: Uint8Array, checkpointId: number, now: number): Promise<SnapshotResult> {
    const run = this.tail.catch(() => undefined).then(() => this.write(log, checkpointId, now));
    this.queued.push(run);
    // The caller handles the write's failure; the tail only orders the writes (a failed last write
    // must not be an unhandled rejection of the tail when no write follows it).
    this.tail = run
      .finally(() => {
        this.queued.splice(this.queued.indexOf(run), 1);
      })
      .catch(() => undefined);
    return run;
  }

  private async write(log: Uint8Array, checkpointId: number, now: number): Promise<SnapshotResult> {
    if (this.lost) throw this.lost;
    const logs = log.byteLength === 0 ? this.carried : [...this.carried, log];
    this.carried = [];
    if (logs.length === 0) return { chain: this.chain, changes: 0 };
    const job: SnapshotJob = {
      taskId: this.options.taskId,
      scope: this.options.scope,
      checkpointId,
      maxParallelism: this.options.maxParallelism,
      states: this.options.states(),
      splits: this.options.splits(),
      logs,
      chain: this.chain,
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
    const written = result.written;
    // A delta follows whatever the chain is now: a materialization may have replaced its prefix meanwhile.
    if (written?.kind === 'delta') this.setChain({ ...this.chain, files: [...this.chain.files, written] });
    else if (written !== undefined) this.setChain(result.chain);
    this.maybeMaterialize(checkpointId, now);
    return { ...result, chain: this.chain };
  }

  /** The chain as this operator records it: with its key-group range and its splits, when it has them. */
  private stamp(chain: StateChain): StateChain {
    const { keyGroups, ownedSplits } = this.options;
    return { ...chain, ...(keyGroups === undefined ? {} : { keyGroups }), ...(ownedSplits === undefined ? {} : { splits: [...ownedSplits].sort() }) };
  }

  private setChain(chain: StateChain): void {
    for (const f of this.chain.files) this.inUse.delete(`${f.scope}/${f.name}`);
    this.chain = this.stamp(chain);
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
        this.chain = this.stamp({ maxParallelism: this.chain.maxParallelism, files: [base, ...later] });
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
