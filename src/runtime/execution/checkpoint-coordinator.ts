import { CheckpointError, FencingError, LeaseUnconfirmedError } from '../../errors.js';
import type { CheckpointStore, CompletedCheckpoint, SharedStateFile, StateHandle } from '../checkpoint-store.js';
import type { DeadLetterSink } from '../dead-letter.js';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { CompiledCheckpointOptions } from './checkpoint-options.js';
import type { AsyncSnapshotPart, TaskSnapshot } from './task-snapshot.js';
import { encodeStateEnvelope } from './state-envelope.js';
import { CheckpointHistory } from './checkpoint-history.js';
import type { Clock, Timer } from '../time/clock.js';
import { CheckpointFailureTolerance } from './checkpoint-failure-tolerance.js';
import { retryFinalStep } from './final-step-retry.js';

/** What the coordinator drives; implemented by the job runner over its sources and sinks. */
export interface CheckpointParticipants {
  /** Ids of every task that must acknowledge a checkpoint (sources, stateful operators, sinks). */
  readonly taskIds: readonly string[];
  injectBarriers(checkpointId: number, timestamp: number, thenStop: boolean): void;
  /** Fencing: throws when this instance may no longer complete checkpoints (lease lost). */
  assertMayCommit(): void;
  /**
   * Right after `_metadata` is durable, in checkpoint order but not behind earlier commits:
   * publish the HA pointer, so a restart resumes from the newest completed checkpoint.
   */
  onDurable?(checkpoint: CompletedCheckpoint): Promise<void>;
  /** After `onDurable` of the checkpoint and the actions of every earlier one: commit sinks, tell sources. */
  onCompleted(checkpoint: CompletedCheckpoint): Promise<void>;
  /** Checkpoint ids retention must keep beyond the newest ones (those a sink's output still names). */
  retainedCheckpoints?(): ReadonlySet<number>;
  /** Shared state files (`<scope>/<name>`) still referenced or being written by the running tasks: retention keeps them. */
  sharedFilesInUse?(): ReadonlySet<string>;
  /** A checkpoint completed (and retention ran after it) or was aborted. */
  checkpointFinished?(checkpointId: number): void;
  readonly deadLetters: DeadLetterSink;
}

interface PendingCheckpoint {
  readonly id: number;
  readonly triggeredAt: number;
  /** Monotonic time the checkpoint was due (its timer's due time, or the trigger for a requested one). */
  readonly dueAt: number;
  /** The final checkpoint of the run (a graceful stop or the end of bounded input). */
  readonly thenStop: boolean;
  readonly awaiting: Set<string>;
  readonly writes: Map<string, Promise<TaskStateWritten>>;
  /** Monotonic time every task had acknowledged (end of the synchronous phase). */
  acknowledgedAt: number | undefined;
  readonly settled: Promise<CompletedCheckpoint | undefined>;
  resolve(result: CompletedCheckpoint | undefined): void;
  timer: Timer;
  /** While the final checkpoint waits for an unconfirmed lease: the one wait its writes share. */
  leaseWait?: Promise<void>;
}

/** One task's snapshot once stored. */
interface TaskStateWritten {
  readonly handle: StateHandle;
  readonly part: AsyncSnapshotPart | undefined;
}

/**
 * Triggers checkpoints (one in flight, interval + minimum pause, timeout), collects every task's
 * snapshot as barriers pass, writes each snapshot as soon as it arrives, and writes `_metadata`
 * last — only then is the checkpoint complete and are sinks allowed to commit.
 */
export class CheckpointCoordinator {
  private nextId: number;
  private current: PendingCheckpoint | undefined;
  private timer: Timer | undefined;
  /** Monotonic time the scheduled checkpoint is due. */
  private dueAt: number | undefined;
  private lastCompletedAt = 0;
  private readonly failures: CheckpointFailureTolerance;
  private stopped = false;
  private failed = false;
  /** Recent checkpoints with their phases and sizes (the web console's history). */
  readonly history: CheckpointHistory;
  /** Completion actions of completed checkpoints, chained so they run in checkpoint order. */
  private afterCompletion: Promise<void> = Promise.resolve();
  /** `onDurable` of completed checkpoints, chained apart from the (slower) completion actions. */
  private afterDurable: Promise<void> = Promise.resolve();
  private readonly labels: { job: string };

  constructor(
    jobName: string,
    /** Where checkpoints go in the store: the job name, or one instance's scope in group mode. */
    private readonly scope: string,
    private readonly store: CheckpointStore,
    private readonly options: CompiledCheckpointOptions,
    private readonly participants: CheckpointParticipants,
    private readonly metrics: MetricsRegistry,
    private readonly logger: Logger,
    private readonly fencingToken: () => bigint,
    /** First id to use: above every id this job ever used, so ids never repeat. */
    firstCheckpointId: number,
    /** Called when failures exceed `tolerableFailures`. */
    private readonly failJob: (error: Error) => void,
    private readonly clock: Clock,
    /** Where checkpoints are recorded; a process passes its own so the history outlives a run. */
    history?: CheckpointHistory,
  ) {
    this.history = history ?? new CheckpointHistory(50);
    this.nextId = firstCheckpointId;
    this.labels = { job: jobName };
    this.failures = new CheckpointFailureTolerance(options.tolerableFailures);
  }

  /** Starts periodic checkpoints. */
  start(): void {
    this.schedule(this.options.intervalMs);
  }

  /** The job failed: nothing may complete any more, not even an in-flight checkpoint. */
  abortAll(): void {
    this.failed = true;
    this.stop();
    this.current?.timer.cancel();
  }

  /** Stops scheduling; an in-flight checkpoint may still complete. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** Resolves when the actions after completed checkpoints (commits, retention) have run. */
  async settled(): Promise<void> {
    await this.afterCompletion.catch(() => undefined);
  }

  get inFlight(): number | undefined {
    return this.current?.id;
  }

  /**
   * Triggers a checkpoint now (waiting for an in-flight one first). With `thenStop` the sources
   * stop after the barrier: the final checkpoint of a graceful stop or of bounded input.
   */
  async trigger(thenStop = false): Promise<CompletedCheckpoint | undefined> {
    while (this.current !== undefined) await this.current.settled;
    const id = this.nextId++;
    const triggeredAt = this.clock.now();
    const dueAt = this.dueAt ?? this.clock.monotonic();
    this.dueAt = undefined;
    let resolve!: (r: CompletedCheckpoint | undefined) => void;
    const settled = new Promise<CompletedCheckpoint | undefined>((r) => (resolve = r));
    const pending: PendingCheckpoint = {
      id,
      triggeredAt,
      dueAt,
      thenStop,
      awaiting: new Set(this.participants.taskIds),
      writes: new Map(),
      acknowledgedAt: undefined,
      settled,
      resolve,
      timer: this.clock.setTimeout(() => this.abort(pending, new CheckpointError(id, `timed out after ${this.options.timeoutMs} ms${timeoutDetail(pending)}`)), this.options.timeoutMs),
    };
    this.current = pending;
    this.history.started(id, triggeredAt, thenStop);
    this.metrics.checkpointsStarted.inc(this.labels);
    this.logger.debug({ checkpoint: id, thenStop }, 'checkpoint triggered');
    this.participants.injectBarriers(id, triggeredAt, thenStop);
    return settled;
  }

  /**
   * The task loop ran the barrier mail of `checkpointId`: barriers are queued at every source.
   * The delay since the checkpoint was due is its start delay (how late control work ran).
   */
  barriersInjected(checkpointId: number): void {
    const pending = this.current;
    if (pending === undefined || pending.id !== checkpointId) return;
    const delayMs = Math.max(0, this.clock.monotonic() - pending.dueAt);
    this.metrics.checkpointStartDelay.observe(this.labels, delayMs / 1000);
    this.history.update(checkpointId, { startDelayMs: delayMs });
  }

  /** A union aligned the barriers of `checkpointId` in `ms` (the time its first input was blocked). */
  alignmentMeasured(checkpointId: number, ms: number): void {
    this.metrics.checkpointAlignment.observe(this.labels, ms / 1000);
    this.history.update(checkpointId, { alignmentMs: ms });
  }

  /** A task's snapshot for a checkpoint; its state is written as soon as its asynchronous part is done. */
  acknowledge(snapshot: TaskSnapshot): void {
    const pending = this.current;
    if (pending === undefined || pending.id !== snapshot.checkpointId) return; // late ack of an aborted checkpoint
    if (!pending.awaiting.delete(snapshot.taskId)) return;
    let leaseWait: Promise<void> | undefined;
    try {
      // A zombie (lease lost while paused) must not write into a checkpoint id its successor uses.
      this.participants.assertMayCommit();
    } catch (error) {
      if (!waitsForLease(pending, error)) {
        this.abort(pending, error instanceof Error ? error : new Error(String(error)));
        return;
      }
      leaseWait = this.leaseConfirmed(pending);
    }
    const write = (async (): Promise<TaskStateWritten> => {
      await leaseWait;
      const part = await snapshot.pending;
      const bytes = encodeStateEnvelope([...snapshot.sections, ...(part?.sections ?? [])]);
      const handle = await this.store.writeState(this.scope, pending.id, stateObjectName(snapshot.taskId), bytes);
      return { handle, part };
    })();
    write.catch(() => undefined);
    pending.writes.set(snapshot.taskId, write);
    if (pending.awaiting.size === 0) {
      pending.acknowledgedAt = this.clock.monotonic();
      void this.complete(pending);
    }
  }

  private async complete(pending: PendingCheckpoint): Promise<void> {
    let checkpoint: CompletedCheckpoint;
    try {
      const operators: Record<string, StateHandle> = {};
      const sharedState: SharedStateFile[] = [];
      let writtenBytes = 0;
      let fullBytes = 0;
      for (const [taskId, write] of pending.writes) {
        const { handle, part } = await write;
        operators[taskId] = handle;
        writtenBytes += handle.bytes + (part?.writtenBytes ?? 0);
        fullBytes += handle.bytes + (part?.fullBytes ?? 0);
        if (part !== undefined) sharedState.push(...part.sharedState);
      }
      const writtenAt = this.clock.monotonic();
      // Dead letters for everything before the barriers are durable before the offsets that skip them.
      await this.participants.deadLetters.flush();
      await this.leaseConfirmed(pending);
      if (this.current !== pending) return; // aborted (timeout) while writing
      if (this.failed) throw new CheckpointError(pending.id, 'the job failed while it was in flight');
      const completedAt = this.clock.now();
      checkpoint = await this.store.commitMetadata({
        formatVersion: 2,
        jobName: this.scope,
        checkpointId: pending.id,
        triggeredAt: pending.triggeredAt,
        completedAt,
        operators,
        fencingToken: this.fencingToken().toString(),
        sharedState,
      });
      pending.timer.cancel();
      this.current = undefined;
      this.failures.completed();
      this.lastCompletedAt = completedAt;
      const syncMs = (pending.acknowledgedAt ?? writtenAt) - pending.dueAt;
      const asyncMs = writtenAt - (pending.acknowledgedAt ?? writtenAt);
      const durationMs = completedAt - pending.triggeredAt;
      this.metrics.checkpointsCompleted.inc(this.labels);
      this.metrics.checkpointDuration.observe(this.labels, durationMs / 1000);
      this.metrics.checkpointSyncDuration.observe(this.labels, Math.max(0, syncMs) / 1000);
      this.metrics.checkpointAsyncDuration.observe(this.labels, Math.max(0, asyncMs) / 1000);
      this.metrics.checkpointSize.set(this.labels, fullBytes);
      this.metrics.checkpointWrittenBytes.set(this.labels, writtenBytes);
      this.metrics.checkpointWrittenBytesTotal.inc(this.labels, writtenBytes);
      this.metrics.lastCheckpointId.set(this.labels, pending.id);
      this.metrics.lastCheckpointTimestamp.set(this.labels, completedAt / 1000);
      this.history.completed(pending.id, { completedAt, durationMs, syncMs: Math.max(0, syncMs), asyncMs: Math.max(0, asyncMs), writtenBytes, fullBytes, location: checkpoint.location });
      this.logger.info({ checkpoint: pending.id, ms: durationMs, syncMs: Math.round(syncMs), asyncMs: Math.round(asyncMs), writtenBytes, fullBytes }, 'checkpoint complete');
    } catch (error) {
      this.abort(pending, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    // The interval runs from here; the actions below run beside the next checkpoint, one
    // completed checkpoint after the other (the HA pointer and commits only move forward).
    // The pointer does not wait for earlier commits: a slow commit must not hold a restart
    // back to an older checkpoint than the newest one completed.
    this.scheduleNext();
    const completed = checkpoint;
    const durable = this.afterDurable.then(() => (this.failed ? undefined : this.makeDurable(pending, completed)));
    this.afterDurable = durable.catch(() => undefined);
    const actions = this.afterCompletion.then(() => this.runCompletionActions(pending, completed, durable));
    this.afterCompletion = actions;
    await actions;
  }

  /**
   * `onDurable` (the HA pointer) of a completed checkpoint. A periodic checkpoint that fails it
   * leaves it to the next one. The final checkpoint of a stop has no next one, and failing it would
   * make the next start replay from the previous checkpoint: it tries again until it succeeds, the
   * run fails, this instance is fenced, or the process's STOP_TIMEOUT_MS ends the stop (an HA store
   * outage that outlasts one call's retry deadline, RETRY_DEADLINE_MS, used to fail the stop).
   */
  private async makeDurable(pending: PendingCheckpoint, checkpoint: CompletedCheckpoint): Promise<void> {
    const publish = async () => this.participants.onDurable?.(checkpoint);
    if (!pending.thenStop) return publish();
    await retryFinalStep(publish, {
      clock: this.clock,
      hasFailed: () => this.failed,
      onFailing: (error) =>
        this.logger.warn({ checkpoint: pending.id, err: (error as Error).message }, 'the final checkpoint is written but could not be made durable (HA pointer); trying again until the stop times out (STOP_TIMEOUT_MS)'),
      onRecovered: (waitedMs) => this.logger.info({ checkpoint: pending.id, waitedMs }, 'the final checkpoint is durable; the stop goes on'),
    });
  }

  /** What follows a completed checkpoint (HA pointer, sink commits) may fail without un-completing it: pending commits ride along with the next one. */
  private async runCompletionActions(pending: PendingCheckpoint, checkpoint: CompletedCheckpoint, durable: Promise<void>): Promise<void> {
    try {
      await durable;
      if (!this.failed) await this.participants.onCompleted(checkpoint);
      pending.resolve(checkpoint);
      // In the completion chain: no later checkpoint's state is released while retention looks at the store.
      // A failed run prunes nothing: the run that replaces it may already be writing to the same scope.
      if (!this.failed) await this.prune();
      this.participants.checkpointFinished?.(pending.id);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      if (pending.thenStop) this.logger.error({ checkpoint: pending.id, err: err.message }, 'action after the final checkpoint failed; the next start restores from the last durable checkpoint');
      else this.logger.warn({ checkpoint: pending.id, err: err.message }, 'action after the checkpoint failed; pending commits retry after the next checkpoint');
      pending.resolve(undefined);
      if (err instanceof FencingError) this.failJob(err);
    }
  }

  /**
   * Resolves when this instance may write checkpoint `pending`; throws when it may not. An
   * unconfirmed lease (the HA store unreachable past the lease's local expiry) fails a periodic
   * checkpoint at once — the next one retries — but the final checkpoint has no next one: it waits
   * for the lease keeper's renewals to confirm the lease again, until the lease is lost, the
   * checkpoint times out or the run fails (the process's STOP_TIMEOUT_MS still bounds a stop).
   * Writes that meet the unconfirmed lease together share one wait.
   */
  private leaseConfirmed(pending: PendingCheckpoint): Promise<void> {
    pending.leaseWait ??= this.waitForLease(pending).finally(() => {
      pending.leaseWait = undefined;
    });
    return pending.leaseWait;
  }

  /** The polling behind `leaseConfirmed`: one loop, and one pair of log lines, per wait. */
  private async waitForLease(pending: PendingCheckpoint): Promise<void> {
    let waitingSince: number | undefined;
    for (;;) {
      try {
        this.participants.assertMayCommit();
        if (waitingSince !== undefined) this.logger.info({ checkpoint: pending.id, waitedMs: Math.round(this.clock.monotonic() - waitingSince) }, 'lease confirmed; the final checkpoint goes on');
        return;
      } catch (error) {
        if (!waitsForLease(pending, error) || this.current !== pending || this.failed) throw error;
        if (waitingSince === undefined) {
          waitingSince = this.clock.monotonic();
          this.logger.warn({ checkpoint: pending.id, err: (error as Error).message }, 'the final checkpoint waits for the HA store to confirm the lease');
        }
        await this.clock.sleep(LEASE_POLL_MS);
      }
    }
  }

  private abort(pending: PendingCheckpoint, error: Error): void {
    if (this.current !== pending) return; // already completed or aborted
    pending.timer.cancel();
    this.current = undefined;
    this.metrics.checkpointsFailed.inc(this.labels);
    this.history.failed(pending.id, error.message);
    this.participants.checkpointFinished?.(pending.id);
    const intolerable = this.failures.failed(error);
    this.logger.warn({ checkpoint: pending.id, err: error.message, consecutiveFailures: this.failures.consecutive, tolerable: this.failures.tolerable }, 'checkpoint failed');
    void this.store.discard(this.scope, pending.id).catch(() => undefined);
    pending.resolve(undefined);
    if (error instanceof FencingError) this.failJob(error);
    else if (intolerable !== undefined) this.failJob(intolerable);
    this.scheduleNext();
  }

  private scheduleNext(): void {
    if (this.stopped || this.current !== undefined) return;
    const sinceLast = this.clock.now() - this.lastCompletedAt;
    this.schedule(Math.max(this.options.intervalMs, this.options.minPauseMs - sinceLast));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    const dueAt = this.clock.monotonic() + delayMs;
    this.timer = this.clock.setTimeout(() => {
      if (this.stopped || this.current !== undefined) return;
      this.dueAt = dueAt;
      void this.trigger(false);
    }, delayMs);
  }

  private async prune(): Promise<void> {
    try {
      await this.store.prune(this.scope, this.options.retain, this.participants.retainedCheckpoints?.(), this.participants.sharedFilesInUse?.());
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'pruning old checkpoints failed; will retry after the next checkpoint');
    }
  }
}

/** The stored object of a task's state: `<task>.state`, a subtask's `<step>.subtask-<n>.state` (`#` is not a safe name character). */
function stateObjectName(taskId: string): string {
  return `${taskId.replace('#', '.subtask-')}.state`;
}

/** How often the final checkpoint looks at an unconfirmed lease again (renewals run every ttl/3). */
const LEASE_POLL_MS = 100;

/** Whether `error` makes checkpoint `pending` wait rather than fail: the final one, on an unconfirmed lease. */
function waitsForLease(pending: PendingCheckpoint, error: unknown): boolean {
  return pending.thenStop && error instanceof LeaseUnconfirmedError;
}

/** What a timed-out checkpoint still waited for: the tasks that never acknowledged it (their barrier is stuck upstream of them). */
function timeoutDetail(pending: PendingCheckpoint): string {
  if (pending.awaiting.size > 0) return `; no acknowledgement from ${[...pending.awaiting].sort().join(', ')}`;
  return '; every task acknowledged, the state writes did not finish';
}
