import type { Observable } from 'rxjs';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { CommitOptions, CommitRequest, Committer, SinkWriter, SplitProgress } from '../sink.js';
import type { VersionedSerializer } from '../serializer.js';
import type { StreamElement } from '../stream-element.js';
import type { PipelineCapacity } from './pipeline-capacity.js';
import type { StateSection } from './state-envelope.js';
import { decodePendingCommits, encodePendingCommits, PENDING_SECTION } from './pending-commits.js';
import type { Clock } from '../time/clock.js';
import type { BusyMeter } from './step-busy-timer.js';
import type { SnapshotAck } from './task-snapshot.js';
import { INPUT_PROCESSED, type InputBlocked } from './task-mailbox.js';

/** What one step of a sink achieved (see {@link SinkStage.step}). */
export type SinkStep = typeof INPUT_PROCESSED | InputBlocked | 'idle' | 'done';

/**
 * Drives a two-phase-commit sink on the task's mailbox loop. Elements queue here (holding
 * pipeline capacity) and the loop hands them to the writer one at a time (`step`), because
 * writes may be asynchronous; while one is in flight the loop goes on with other input. On a
 * barrier the writer pre-commits (or seals, and its files are finished in the checkpoint's
 * asynchronous phase); the committables join the pending list, and the whole pending list is the
 * sink's state — so a checkpoint that fails or a commit that fails leaves them pending for the
 * next checkpoint, and a restore re-commits them (committers are idempotent).
 */
export class SinkStage {
  private readonly queue: StreamElement<unknown>[] = [];
  private writing: Promise<void> | undefined;
  private inputComplete = false;
  private state: 'open' | 'done' | 'failed' = 'open';
  private pending: CommitRequest<unknown>[] = [];
  private committing: Promise<void> = Promise.resolve();
  /** The last barrier's seal (see `seal`); never rejects — a failed seal fails the sink. */
  private sealing: Promise<void> = Promise.resolve();
  private finished!: () => void;
  private failed!: (error: unknown) => void;
  /** Resolves when the input completed and everything queued was handled; rejects when the writer failed. */
  readonly done: Promise<void>;
  private readonly recordsIn;
  private readonly busy: BusyMeter;

  constructor(
    input: Observable<StreamElement<unknown>>,
    readonly taskId: string,
    jobName: string,
    private readonly writer: SinkWriter<unknown, unknown>,
    private readonly committer: Committer<unknown>,
    private readonly serializer: VersionedSerializer<unknown>,
    private readonly capacity: PipelineCapacity,
    private readonly ack: SnapshotAck,
    metrics: MetricsRegistry,
    private readonly logger: Logger,
    /** Where the source stood at a checkpoint; when given, every checkpoint makes a commit request (it carries the progress). */
    private readonly splitProgress?: (checkpointId: number) => SplitProgress | undefined,
    /** Times writes for the step's busy time (a sink is busy while a write or pre-commit is in flight). */
    private readonly clock?: Clock,
  ) {
    this.recordsIn = metrics.recordsIn.labels({ job: jobName, operator: taskId });
    this.busy = metrics.busyMeter({ job: jobName, operator: taskId });
    this.done = new Promise((resolve, reject) => {
      this.finished = resolve;
      this.failed = reject;
    });
    this.done.catch(() => undefined);
    input.subscribe({
      next: (element) => {
        this.queue.push(element);
        this.capacity.acquire();
      },
      error: (error) => this.fail(error),
      complete: () => {
        this.inputComplete = true;
      },
    });
  }

  /**
   * One step on the mailbox loop, never blocking: hands the next queued element to the writer
   * (`processed`), or says it is blocked on the write in flight, `idle` (nothing queued yet) or
   * `done` (input complete and drained, or failed — `done` then rejects).
   */
  step(): SinkStep {
    if (this.state !== 'open') return 'done';
    if (this.writing !== undefined) return { until: this.writing };
    const element = this.queue.shift();
    if (element === undefined) {
      if (!this.inputComplete) return 'idle';
      this.state = 'done';
      // Done means sealed, too: the run closes the writer once every sink is done.
      void this.sealing.then(() => this.finished());
      return 'done';
    }
    const started = this.clock?.monotonic();
    let handled: Promise<void>;
    try {
      handled = this.handle(element);
    } catch (error) {
      handled = Promise.reject(error);
    }
    const settle = () => {
      this.writing = undefined;
      this.capacity.release();
      if (started !== undefined) this.busy.ms += this.clock!.monotonic() - started;
    };
    const writing = handled.then(settle, (error: unknown) => {
      settle();
      this.fail(error);
    });
    this.writing = writing;
    return INPUT_PROCESSED;
  }

  private fail(error: unknown): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.logger.error({ sink: this.taskId, err: error }, 'sink failed');
    this.failed(error);
  }

  /** Checkpoints whose commits are pending (restored, or not yet published). */
  get pendingCheckpoints(): number[] {
    return this.pending.map((p) => p.checkpointId);
  }

  /** Committables restored from a checkpoint: they must be (re-)committed before anything else. */
  restorePending(sections: Map<string, StateSection> | undefined): readonly CommitRequest<unknown>[] {
    this.pending = decodePendingCommits(sections?.get(PENDING_SECTION), this.serializer, this.taskId);
    return this.pending;
  }

  /**
   * Publishes everything pending up to `checkpointId` (inclusive); on failure it stays pending.
   * Commits run one at a time: a final checkpoint's commit may be requested while the previous
   * one is still running, and both would otherwise publish the same pending files.
   */
  commitUpTo(checkpointId: number, options: CommitOptions = {}): Promise<void> {
    const run = this.committing.then(async () => {
      const due = this.pending.filter((p) => p.checkpointId <= checkpointId);
      if (due.length === 0) return;
      await this.committer.commit(due, options);
      this.pending = this.pending.filter((p) => !due.includes(p));
    });
    this.committing = run.catch(() => undefined);
    return run;
  }

  /** A coordinator elsewhere committed everything up to `checkpointId` (parallel subtasks): it is no longer pending here. */
  dropPendingUpTo(checkpointId: number): void {
    this.pending = this.pending.filter((p) => p.checkpointId > checkpointId);
  }

  /** Resolves when no commit is running (a commit that already started is never cut short). */
  commitsSettled(): Promise<void> {
    return this.committing;
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.committer.close();
  }

  private async handle(element: StreamElement<unknown>): Promise<void> {
    switch (element.kind) {
      case 'data':
        this.recordsIn.inc(element.records.length);
        await this.writer.write(element.records);
        return;
      case 'barrier':
        if (this.writer.seal !== undefined) this.seal(element.checkpointId);
        else await this.prepareCommit(element.checkpointId);
        return;
      case 'watermark':
      case 'end':
        return;
    }
  }

  private async prepareCommit(checkpointId: number): Promise<void> {
    const committables = await this.writer.prepareCommit(checkpointId);
    this.addPending(checkpointId, committables, this.splitProgress?.(checkpointId));
    this.ack({ taskId: this.taskId, checkpointId, sections: [this.snapshotPending()] });
  }

  /**
   * The writer seals at the barrier and the barrier is acknowledged at once; the pending list — the
   * sink's state — is snapshotted when the sealed committables are durable (the checkpoint's
   * asynchronous phase). Seals complete in barrier order, so each snapshot holds its own
   * committables and every earlier checkpoint's still pending, never a later one's.
   */
  private seal(checkpointId: number): void {
    const splits = this.splitProgress?.(checkpointId);
    const sealed = this.writer.seal!(checkpointId);
    const part = Promise.all([this.sealing, sealed]).then(([, committables]) => {
      this.addPending(checkpointId, committables, splits);
      return { sections: [this.snapshotPending()], sharedState: [], writtenBytes: 0, fullBytes: 0 };
    });
    this.sealing = part.then(
      () => undefined,
      (error: unknown) => this.fail(error),
    );
    this.ack({ taskId: this.taskId, checkpointId, sections: [], pending: part });
  }

  private addPending(checkpointId: number, committables: readonly unknown[], splits: SplitProgress | undefined): void {
    if (committables.length > 0 || splits !== undefined) this.pending.push({ checkpointId, committables, ...(splits ? { splits } : {}) });
  }

  private snapshotPending(): StateSection {
    return encodePendingCommits(this.pending, this.serializer);
  }
}
