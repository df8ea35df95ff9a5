import type { CheckpointStore, CompletedCheckpoint } from '../checkpoint-store.js';
import type { DeadLetterSink } from '../dead-letter.js';
import { StreamlineError } from '../../errors.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { SinkContext } from '../sink.js';
import { RunEnding } from './run-ending.js';
import { reportRunReady } from './run-readiness.js';
import { sinkContextFor } from './sink-context.js';
import type { SplitAssignment } from '../split-group.js';
import type { JobActivity } from '../activity/job-activity.js';
import type { KeyedStateBackend, KeyedStateContext } from '../state/keyed-state-backend.js';
import { HeapKeyedStateBackend } from '../state/heap/heap-keyed-state-backend.js';
import { InlineSnapshotFileWriter, type SnapshotFileWriter } from '../state/snapshot/snapshot-file-writer.js';
import { WorkerSnapshotFileWriter } from '../state/snapshot/worker-snapshot-file-writer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';
import { CheckpointCoordinator } from './checkpoint-coordinator.js';
import { compileCheckpointOptions, type CheckpointOptions } from './checkpoint-options.js';
import { CommitDriver } from './commit-driver.js';
import { buildPipeline, type Pipeline } from './pipeline-builder.js';
import { PipelineCapacity } from './pipeline-capacity.js';
import { PipelineInput } from './pipeline-input.js';
import { planRestore, type HaPointerReader, type RestoreSelection } from './restore-planner.js';
import { mergeSubtaskStates } from '../parallel/parallel-restore.js';
import { TaskMailbox, type MailboxStats } from './task-mailbox.js';

export type { RestoreSelection } from './restore-planner.js';

/** How long a failing or stopping job waits for a commit in flight before closing its sinks. */
const COMMIT_SETTLE_MS = 15_000;

export interface JobRunnerOptions {
  readonly flow: Dataflow;
  readonly store: CheckpointStore;
  readonly checkpoint?: CheckpointOptions;
  readonly restoreFrom?: RestoreSelection;
  /** The HA pointer of this run's checkpoint location, if an HA store is used (preferred over listing). */
  readonly haPointer?: HaPointerReader;
  /** Max elements waiting in the pipeline before sources pause. Default 16 batches. */
  readonly capacity?: number;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly deadLetters: DeadLetterSink;
  /** Creates the keyed state backend of a keyed operator (default: on the heap). */
  readonly createKeyedState?: (context: KeyedStateContext) => KeyedStateBackend;
  /** Where disk-backed keyed state keeps its working copies (default: the system temp folder). */
  readonly stateDir?: string;
  readonly fencingToken?: () => bigint;
  /** Throws when this instance lost its lease; checked before every checkpoint completes and commit. */
  readonly assertMayCommit?: () => void;
  /** After `_metadata` of a checkpoint is durable and before sinks commit (e.g. publish the HA pointer). */
  readonly onCheckpointDurable?: (checkpoint: CompletedCheckpoint) => Promise<void>;
  /** Where in the store checkpoints go (default: the job name). Each instance of a job in group mode has its own. */
  readonly checkpointScope?: string;
  /**
   * Group mode: the splits this run owns. State and source positions are then restored split by
   * split from what the sink's output holds (see split-restore.ts), not from a checkpoint of ours.
   */
  readonly assignment?: SplitAssignment;
  /** Whether the run closes the dead-letter sink when it ends (default true; a group member reuses it across runs). */
  readonly closeDeadLetters?: boolean;
  /** Told when the run is restored and its sources run (true), and when it stops running (false): readiness. */
  readonly onReady?: (ready: boolean) => void;
  /** The runtime's time (default: the system clock); tests run in virtual time with a ManualClock. */
  readonly clock?: Clock;
  /** Longest slice of input before the task's loop yields to the event loop, ms (default 5). */
  readonly sliceMs?: number;
  /** Records checkpoints and sink commits for the web console and the exit summary (the process's, shared by its runs). */
  readonly activity?: JobActivity;
  /**
   * After the sinks committed a completed checkpoint, in the chain of completion actions — so it
   * never runs beside a commit of this run, and the next commit waits for it (table maintenance,
   * MAINTAIN_INTERVAL_MS). `final`: the last checkpoint of the run. Failures are logged, never fatal.
   */
  readonly afterCommit?: (checkpointId: number, final: boolean) => Promise<void>;
}

/** What a finished run reports. */
export interface JobRunResult {
  readonly restoredFrom: number | undefined;
  /** Group mode: splits whose state and positions came from the output's last commits. */
  readonly restoredSplits?: readonly string[];
  readonly lastCheckpoint: number | undefined;
}

/**
 * Runs a dataflow in this process: plans the restore, compiles the graph into stages, and drives
 * them from one mailbox loop (the task) beside the checkpoint coordinator; ends after a final
 * checkpoint (bounded input or `stop()`), or rejects when anything fails — without committing
 * partial state.
 */
export class JobRunner {
  private readonly capacity: PipelineCapacity;
  private readonly mailbox: TaskMailbox;
  private readonly commits: CommitDriver;
  private readonly clock: Clock;
  private pipeline: Pipeline | undefined;
  private coordinator: CheckpointCoordinator | undefined;
  private readonly ending: RunEnding;
  private lastCheckpoint: number | undefined;
  private readonly jobName: string;
  private started = false;
  /** Aborted when the job fails or ends, so a source waiting in `poll` returns promptly. */
  private readonly stopSources = new AbortController();
  private readonly scope: string;
  /** Sources' checkpoint-complete acknowledgements in flight (e.g. Kafka offset commits): awaited before they close. */
  private readonly notifications = new Set<Promise<void>>();

  constructor(private readonly options: JobRunnerOptions) {
    this.ending = new RunEnding(options.logger, () => this.coordinator, (error) => {
      this.stopSources.abort(error);
      this.mailbox.close();
      for (const source of this.pipeline?.sources ?? []) source.abort();
    });
    options.flow.validate();
    this.jobName = options.flow.name;
    this.scope = options.checkpointScope ?? this.jobName;
    this.clock = options.clock ?? systemClock;
    this.capacity = new PipelineCapacity(options.capacity ?? 16);
    this.mailbox = new TaskMailbox({
      clock: this.clock,
      ...(options.sliceMs === undefined ? {} : { sliceMs: options.sliceMs }),
      onMailError: (error, description) => this.ending.fail(new StreamlineError(`${description} failed: ${(error as Error).message}`, { cause: error })),
    });
    this.commits = new CommitDriver({
      jobName: this.jobName,
      scope: this.scope,
      logger: options.logger,
      sinkContext: (stepId) => this.sinkContext(stepId),
      assertMayCommit: () => options.assertMayCommit?.(),
      clock: this.clock,
      hasFailed: () => this.ending.failure !== undefined,
    });
  }

  /** Recent checkpoints with their phases and sizes. */
  checkpointHistory(): ReturnType<CheckpointCoordinator['history']['list']> {
    return this.coordinator?.history.list() ?? [];
  }

  /** Counters of the task's mailbox loop (mail run, yields to the event loop, busy time). */
  get loopStats(): Readonly<MailboxStats> {
    return this.mailbox.stats;
  }

  /** Restores and runs until the job finishes or fails. */
  async run(): Promise<JobRunResult> {
    if (this.started) throw new StreamlineError('A JobRunner runs once; create a new one to run again.');
    this.started = true;
    const { options } = this;
    const checkpointOptions = compileCheckpointOptions(options.checkpoint);
    const planned = await planRestore({
      flow: options.flow,
      store: options.store,
      scope: this.scope,
      logger: options.logger,
      restoreFrom: options.restoreFrom ?? 'latest',
      ...(options.haPointer ? { haPointer: options.haPointer } : {}),
      ...(options.assignment ? { assignment: options.assignment } : {}),
      committerFor: (node) => this.commits.committerFor(node),
    });
    // A checkpoint of a parallel run, restored in one thread: its subtasks' states merged.
    const restore = mergeSubtaskStates(options.flow, planned);
    const restoredId = restore.checkpoint?.metadata.checkpointId;
    const firstId = Math.max(0, restoredId ?? 0, restore.pointedCheckpointId ?? 0, (await options.store.highestCheckpointId(this.scope)) ?? 0) + 1;

    const failed = this.ending.failed;

    const coordinator = new CheckpointCoordinator(
      this.jobName,
      this.scope,
      options.store,
      checkpointOptions,
      {
        taskIds: this.taskIds(),
        injectBarriers: (id, ts, thenStop) =>
          this.mailbox.send(`barrier of checkpoint ${id}`, () => {
            coordinator.barriersInjected(id);
            for (const source of this.pipeline?.sources ?? []) source.injectBarrier({ kind: 'barrier', checkpointId: id, timestamp: ts, thenStop });
          }),
        assertMayCommit: () => options.assertMayCommit?.(),
        onDurable: async (checkpoint) => {
          this.lastCheckpoint = checkpoint.metadata.checkpointId;
          await this.options.onCheckpointDurable?.(checkpoint);
        },
        onCompleted: (checkpoint) => this.onCheckpointCompleted(checkpoint),
        retainedCheckpoints: () => this.commits.referencedCheckpoints(),
        sharedFilesInUse: () => this.sharedFilesInUse(),
        checkpointFinished: (id) => {
          for (const backend of this.pipeline?.keyedState.values() ?? []) backend.checkpointFinished(id);
        },
        deadLetters: options.deadLetters,
      },
      options.metrics,
      options.logger,
      options.fencingToken ?? (() => 0n),
      firstId,
      (error) => this.ending.fail(error),
      this.clock,
      options.activity?.checkpoints,
    );
    this.coordinator = coordinator;

    const snapshotWriter = this.snapshotWriter();
    const pipeline = await buildPipeline({
      flow: options.flow,
      restore,
      capacity: this.capacity,
      ack: (snapshot) => coordinator.acknowledge(snapshot),
      commits: this.commits,
      clock: this.clock,
      mail: (description, action) => this.mailbox.send(description, action),
      metrics: options.metrics,
      logger: options.logger,
      deadLetters: options.deadLetters,
      createKeyedState: options.createKeyedState ?? ((context) => new HeapKeyedStateBackend(context)),
      keyedStateContext: {
        scope: this.scope,
        store: options.store,
        writer: snapshotWriter,
        clock: this.clock,
        logger: options.logger,
        workDir: options.stateDir ?? join(tmpdir(), 'streamline-state'),
      },
      onAligned: (id, ms) => coordinator.alignmentMeasured(id, ms),
      stopSignal: this.stopSources.signal,
      ...(options.assignment ? { assignment: options.assignment } : {}),
      onAllInputEnded: () => void this.stop(),
      fail: (error) => this.ending.fail(error),
    });
    this.pipeline = pipeline;
    await this.commits.recommitRestored(pipeline.sinks);
    reportRunReady(options, this.jobName, restore, 1);

    const loop = this.mailbox.run(new PipelineInput(pipeline.sources, pipeline.sinks, this.capacity, [...pipeline.keyedState.values()]));
    loop.catch((error: unknown) => this.ending.fail(error));
    coordinator.start();
    this.ending.sourcesRunning();
    try {
      await Promise.race([Promise.all([loop, ...pipeline.sinks.map((s) => s.done)]), failed]);
      await this.ending.stopped();
      if (this.ending.failure) throw this.ending.failure;
    } catch (error) {
      this.ending.fail(error);
      throw this.ending.failure ?? error;
    } finally {
      coordinator.stop();
      this.mailbox.close();
      options.metrics.ready.set({ job: this.jobName }, 0);
      options.onReady?.(false);
      // A commit that already started finishes (it lands whole or is refused, e.g. fenced) before the sinks close.
      // Retention after a checkpoint runs in the same chain, so nothing of this run touches the store once it settled.
      const patience = new AbortController();
      const settled = Promise.all([coordinator.settled(), ...pipeline.sinks.map((s) => s.commitsSettled())]);
      await Promise.race([settled, this.clock.sleep(COMMIT_SETTLE_MS, patience.signal).catch(() => undefined)]);
      patience.abort();
      this.stopSources.abort();
      await this.closeAll(pipeline);
      if (snapshotWriter instanceof WorkerSnapshotFileWriter) await snapshotWriter.close();
    }
    return { restoredFrom: restoredId, ...(restore.restoredSplits ? { restoredSplits: restore.restoredSplits } : {}), lastCheckpoint: this.lastCheckpoint };
  }

  /** Keyed state files go through a worker thread when the store can be opened there. */
  private snapshotWriter(): SnapshotFileWriter {
    const spec = this.options.store.spec;
    if (spec !== undefined && WorkerSnapshotFileWriter.isAvailable()) return new WorkerSnapshotFileWriter(spec);
    return new InlineSnapshotFileWriter(this.options.store, this.clock);
  }

  /** Shared state files the keyed backends reference or are writing. */
  private sharedFilesInUse(): ReadonlySet<string> {
    const names = new Set<string>();
    for (const backend of this.pipeline?.keyedState.values() ?? []) for (const name of backend.sharedFilesInUse()) names.add(name);
    return names;
  }

  private sinkContext(stepId: string): SinkContext {
    return sinkContextFor({ ...this.options, jobName: this.jobName, scope: this.scope, clock: this.clock }, stepId);
  }

  /**
   * Graceful stop (stop-with-savepoint): a final checkpoint whose barrier also stops the sources;
   * resolves when it completed and the sinks committed.
   */
  stop(): Promise<void> {
    return this.ending.stop();
  }

  /** Stops at once without a final checkpoint (second signal, fatal error). */
  abort(error: Error): void {
    this.ending.fail(error);
  }

  /** A checkpoint is durable and its pointer published: commit the sinks, then tell the sources (on the loop). */
  private async onCheckpointCompleted(checkpoint: CompletedCheckpoint): Promise<void> {
    const id = checkpoint.metadata.checkpointId;
    if (this.ending.failure) return;
    // The final checkpoint of a stop (or of a hand-over before a rebalance) publishes progress even without data.
    const final = this.ending.isStopping;
    try {
      await this.commits.commitUpTo(this.pipeline?.sinks ?? [], id, final);
    } catch (error) {
      this.ending.fail(error);
      return;
    }
    this.mailbox.send(`checkpoint ${id} complete`, () => {
      for (const source of this.pipeline?.sources ?? []) {
        const notified = source
          .notifyCheckpointComplete(id)
          .catch((error: unknown) => this.options.logger.warn({ source: source.taskId, err: (error as Error).message }, 'source could not acknowledge the checkpoint'))
          .finally(() => this.notifications.delete(notified));
        this.notifications.add(notified);
      }
    });
    await runAfterCommit(this.options, id, final);
  }

  private taskIds(): string[] {
    return this.options.flow
      .graph()
      .filter((n) => n.kind === 'source' || n.kind === 'sink' || (n.kind === 'operator' && (n.stateful || n.keySelector !== undefined)))
      .map((n) => n.id);
  }

  private async closeAll(pipeline: Pipeline): Promise<void> {
    const close = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        this.options.logger.warn({ what, err: (error as Error).message }, 'close failed');
      }
    };
    await Promise.all(this.notifications);
    for (const source of pipeline.sources) await close(source.taskId, () => source.close());
    for (const sink of pipeline.sinks) await close(sink.taskId, () => sink.close());
    for (const [stepId, backend] of pipeline.keyedState) await close(stepId, () => backend.close());
    if (this.options.closeDeadLetters ?? true) await close('dead letters', () => this.options.deadLetters.close());
  }
}

/** The run's `afterCommit` action for a checkpoint; its failure is logged, not fatal. */
export async function runAfterCommit(options: Pick<JobRunnerOptions, 'afterCommit' | 'logger'>, checkpointId: number, final: boolean): Promise<void> {
  if (options.afterCommit === undefined) return;
  try {
    await options.afterCommit(checkpointId, final);
  } catch (error) {
    options.logger.warn({ checkpoint: checkpointId, err: (error as Error).message }, 'the action after the commit failed; the job goes on');
  }
}
