import type { CompletedCheckpoint } from '../checkpoint-store.js';
import { FencingError, JobDefinitionError, StreamlineError } from '../../errors.js';
import { CheckpointCoordinator } from '../execution/checkpoint-coordinator.js';
import { compileCheckpointOptions } from '../execution/checkpoint-options.js';
import { CommitDriver } from '../execution/commit-driver.js';
import { decodePendingCommits, mergePendingCommits, PENDING_SECTION } from '../execution/pending-commits.js';
import { runAfterCommit, type JobRunnerOptions, type JobRunResult } from '../execution/job-runner.js';
import { planRestore, type RestorePlan } from '../execution/restore-planner.js';
import type { StateSection } from '../execution/state-envelope.js';
import type { AsyncSnapshotPart } from '../execution/task-snapshot.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { SinkNode, SourceNode } from '../graph/graph-node.js';
import type { SinkContext } from '../sink.js';
import { RunEnding } from '../execution/run-ending.js';
import { reportRunReady } from '../execution/run-readiness.js';
import { sinkContextFor } from '../execution/sink-context.js';
import type { SplitFeedLink, SplitGroup } from '../split-group.js';
import type { StateBackendKind } from '../state/state-backend-choice.js';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';
import { restoredPendingCommits, subtaskRestores } from './parallel-restore.js';
import { distributeSplits } from './split-distribution.js';
import { followStandbyReassignments } from './standby-reassignments.js';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { MaterializationPermit } from '../state/snapshot/materialization-permit.js';
import { SnapshotWorkerHost } from '../state/snapshot/snapshot-worker-host.js';
import { WorkerSnapshotFileWriter } from '../state/snapshot/worker-snapshot-file-writer.js';
import { ParquetWorkerHost, parquetWorkersSetting } from '../../iceberg/parquet-worker-host.js';
import { SubtaskHandle, fromWireError } from './subtask-handle.js';
import { discardPrestartedSubtasks, takePrestartedSubtask } from './subtask-prestart.js';
import type { FromSubtask } from './subtask-protocol.js';

/** How long a subtask may take to close before its thread is terminated. */
const CLOSE_PATIENCE_MS = 30_000;

/** What a parallel run needs beyond a job runner's options. */
export interface ParallelJobRunnerOptions extends Omit<JobRunnerOptions, 'createKeyedState' | 'capacity' | 'sliceMs'> {
  /** Subtasks wanted; fewer run when the source has fewer splits. */
  readonly parallelism: number;
  /** SUBTASK_HEAP_MB: each subtask thread's V8 heap limit; undefined leaves V8's default. */
  readonly subtaskHeapMb?: number;
  /** The job module, for the subtasks to load (a file URL). */
  readonly jobUrl: string;
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly workDir: string;
  readonly stateBackend: StateBackendKind;
  readonly stateDir: string;
  readonly logLevel: string;
  /** Group mode: the instance's group membership (its feed reads the assignment's splits); standby mode joins its own. */
  readonly group?: SplitGroup;
}

/** For each of `n` subtasks, a port to every other one (one MessageChannel per pair); null at its own index. */
function peerPorts(n: number): (MessagePort | null)[][] {
  const ports = Array.from({ length: n }, () => new Array<MessagePort | null>(n).fill(null));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const channel = new MessageChannel();
      ports[i]![j] = channel.port1;
      ports[j]![i] = channel.port2;
    }
  }
  return ports;
}

/** Why a flow cannot run in parallel subtasks (undefined when it can). */
export function parallelUnsupportedReason(flow: Dataflow): string | undefined {
  const sources = flow.nodesOf('source');
  const source = sources[0];
  if (sources.length !== 1 || source === undefined) return 'it has more than one source';
  if (source.source.splits === undefined || (source.source.allSplits === undefined && source.source.joinGroup === undefined)) return `its source '${source.id}' (${source.source.kind}) is not divided into splits`;
  if (flow.nodesOf('sink').length !== 1) return 'it has more than one sink';
  for (const node of flow.nodesOf('operator')) {
    const probe = node.createOperator();
    if (node.keySelector === undefined && probe.snapshot !== undefined && probe.operatorStateInGroupMode !== 'reset') return `step '${node.id}' keeps operator state that belongs to no split`;
  }
  return undefined;
}

/**
 * A job run on several cores, as Flink's task slots: N subtasks in worker threads each read a
 * share of the source's splits, exchange records by key before every keyed step (each subtask
 * keeps the keyed state of its key-group range) and write with their own sink writers; this thread is the
 * coordinator — it triggers one global checkpoint across the subtasks (every task of every
 * subtask acknowledges it), commits every subtask's files in one commit per checkpoint, holds
 * the Kafka consumer whose fetches it hands to the subtask reading each partition, and stays
 * light so that the lease, health, metrics and signals are always answered.
 */
export class ParallelJobRunner {
  private readonly clock: Clock;
  private readonly commits: CommitDriver;
  private readonly scope: string;
  private readonly jobName: string;
  private coordinator: CheckpointCoordinator | undefined;
  private subtasks: SubtaskHandle[] = [];
  private readonly ending: RunEnding;
  private lastCheckpoint: number | undefined;
  /** Asynchronous parts of snapshots still to come, by `<subtask>:<async id>`. */
  private readonly asyncParts = new Map<string, { resolve(part: AsyncSnapshotPart): void; reject(error: Error): void }>();
  /** Per checkpoint, the sink sections each subtask acknowledged (their pending commits). */
  private readonly sinkAcks = new Map<number, Map<string, StateSection[]>>();
  /** Per checkpoint, the split positions each subtask's source acknowledged. */
  private readonly sourceAcks = new Map<number, Record<string, number>>();
  /** Latest shared files each subtask references or writes. */
  private readonly inUse = new Map<number, readonly string[]>();
  private readonly ready = new Set<number>();
  private readonly ended = new Set<number>();
  private readonly done = new Set<number>();
  private allReady!: () => void;
  private allDone!: () => void;
  private link: SplitFeedLink | undefined;
  /** The Parquet writer workers the run's subtasks share, and how many (PARQUET_WORKERS). */
  private parquetHost: ParquetWorkerHost | undefined;
  private readonly parquetWorkers: number;
  private nextMetricsRequest = 1;
  private readonly metricsRequests = new Map<number, { expect: number; got: unknown[][]; resolve(metrics: unknown[]): void }>();
  private ownGroup: SplitGroup | undefined;

  constructor(private readonly options: ParallelJobRunnerOptions) {
    this.ending = new RunEnding(options.logger, () => this.coordinator);
    options.flow.validate();
    const reason = parallelUnsupportedReason(options.flow);
    if (reason !== undefined) throw new JobDefinitionError(`job '${options.flow.name}' cannot run in parallel subtasks: ${reason}`);
    this.jobName = options.flow.name;
    this.scope = options.checkpointScope ?? this.jobName;
    this.clock = options.clock ?? systemClock;
    this.parquetWorkers = parquetWorkersSetting(options.settings);
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

  get sourceNode(): SourceNode {
    return this.options.flow.nodesOf('source')[0]!;
  }

  get sinkNode(): SinkNode {
    return this.options.flow.nodesOf('sink')[0]!;
  }

  /** Recent checkpoints with their phases and sizes. */
  checkpointHistory(): ReturnType<CheckpointCoordinator['history']['list']> {
    return this.coordinator?.history.list() ?? [];
  }

  /** Restores, starts the subtasks and coordinates them until the job finishes or fails. */
  async run(): Promise<JobRunResult> {
    const { options } = this;
    const restore = await planRestore({
      flow: options.flow,
      store: options.store,
      scope: this.scope,
      logger: options.logger,
      restoreFrom: options.restoreFrom ?? 'latest',
      ...(options.haPointer ? { haPointer: options.haPointer } : {}),
      ...(options.assignment ? { assignment: options.assignment } : {}),
      committerFor: (node) => this.commits.committerFor(node),
    });
    const restoredId = restore.checkpoint?.metadata.checkpointId;
    const firstId = Math.max(0, restoredId ?? 0, restore.pointedCheckpointId ?? 0, (await options.store.highestCheckpointId(this.scope)) ?? 0) + 1;
    await this.recommit(restore);

    const { generation, splits } = await this.splitsToRead();
    const shares = distributeSplits(splits, options.parallelism);
    const restores = subtaskRestores(options.flow, restore, shares);
    const failed = this.ending.failed;
    const readyAll = new Promise<void>((resolve) => (this.allReady = resolve));
    const doneAll = new Promise<void>((resolve) => (this.allDone = resolve));

    const taskIds = this.taskIds(shares.length);
    const coordinator = new CheckpointCoordinator(
      this.jobName,
      this.scope,
      options.store,
      compileCheckpointOptions(options.checkpoint),
      {
        taskIds,
        injectBarriers: (id, timestamp, thenStop) => {
          coordinator.barriersInjected(id);
          for (const s of this.subtasks) s.send({ type: 'barrier', checkpointId: id, timestamp, thenStop });
        },
        assertMayCommit: () => options.assertMayCommit?.(),
        onDurable: async (checkpoint) => {
          this.lastCheckpoint = checkpoint.metadata.checkpointId;
          await this.options.onCheckpointDurable?.(checkpoint);
        },
        onCompleted: (checkpoint) => this.onCheckpointCompleted(checkpoint),
        retainedCheckpoints: () => this.commits.referencedCheckpoints(),
        sharedFilesInUse: () => new Set([...this.inUse.values()].flat()),
        checkpointFinished: (id) => {
          this.sinkAcks.delete(id);
          this.sourceAcks.delete(id);
          for (const s of this.subtasks) s.send({ type: 'checkpoint-finished', checkpointId: id });
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

    let prestarted = 0;
    this.subtasks = shares.map((_, index) => {
      const thread = takePrestartedSubtask(options.subtaskHeapMb);
      if (thread !== undefined) prestarted++;
      return new SubtaskHandle(index, (i, message) => this.onMessage(i, message), this.clock, options.subtaskHeapMb, thread);
    });
    discardPrestartedSubtasks();
    const removeRemoteMetrics = options.metrics.addRemote(() => this.collectMetrics());
    const feed = (this.options.group ?? this.ownGroup)?.feed;
    const reassignments = new AbortController();
    if (feed !== undefined) {
      const owner = new Map<string, number>();
      shares.forEach((share, index) => share.forEach((split) => owner.set(split, index)));
      const deliver = (split: string, payload: unknown, transfer: readonly ArrayBuffer[]) => this.subtasks[owner.get(split) ?? -1]?.send({ type: 'feed', payload }, transfer);
      this.link = feed.attach(generation, deliver);
      if (this.ownGroup !== undefined) {
        void followStandbyReassignments({
          group: this.ownGroup,
          feed,
          shares,
          deliver,
          relink: (link) => (this.link = link),
          reassign: (index, splits) => this.subtasks[index]?.send({ type: 'feed-reassigned', splits: [...splits] }),
          fail: (error) => this.ending.fail(error),
          logger: options.logger,
          signal: reassignments.signal,
        });
      }
    }
    const spec = options.store.spec;
    if (spec === undefined) throw new StreamlineError(`the checkpoint store ${options.store.uri} cannot be opened in a subtask thread; run with PARALLELISM=1`);
    const peers = peerPorts(shares.length);
    const materializationPermit = MaterializationPermit.newBuffer();
    const parquetHost = new ParquetWorkerHost(this.parquetWorkers, (error) => options.logger.warn({ err: error }, 'a Parquet writer worker of the process ended; the files of every subtask on it are lost'));
    this.parquetHost = parquetHost;
    // Keyed-state deltas of every subtask go to one worker of the process (SnapshotWorkerHost).
    const keyedState = options.flow.nodesOf('operator').some((n) => n.keySelector !== undefined);
    const snapshotHost = keyedState && WorkerSnapshotFileWriter.isAvailable() ? new SnapshotWorkerHost((error) => options.logger.warn({ err: error }, 'the keyed-state snapshot worker of the process ended; the snapshots in flight of every subtask are lost')) : undefined;
    this.subtasks.forEach((subtask, index) => {
      const parquetWorkers = parquetHost.connect();
      const snapshotWorker = snapshotHost?.connect();
      subtask.send(
        {
          type: 'start',
          jobUrl: options.jobUrl,
          settings: options.settings,
          workDir: options.workDir,
          index,
          parallelism: shares.length,
          splits: shares[index]!,
          generation,
          scope: this.scope,
          store: spec,
          stateBackend: options.stateBackend,
          stateDir: options.stateDir,
          restore: restores[index]!,
          logLevel: options.logLevel,
          peers: peers[index]!,
          materializationPermit,
          parquetWorkers,
          ...(snapshotWorker ? { snapshotWorker } : {}),
        },
        [...peers[index]!.filter((p): p is MessagePort => p !== null), ...parquetWorkers, ...(snapshotWorker ? [snapshotWorker] : [])],
      );
    });
    // `prestarted`: subtasks on threads started with the process (subtask-prestart.ts), already loaded.
    options.logger.info({ subtasks: shares.length, splits: shares.map((s) => s.length), prestarted }, 'parallel subtasks starting');
    try {
      await Promise.race([readyAll, failed]);
      reportRunReady(options, this.jobName, restore, shares.length);
      coordinator.start();
      this.ending.sourcesRunning();
      await Promise.race([doneAll, failed]);
      await this.ending.stopped();
      if (this.ending.failure) throw this.ending.failure;
    } catch (error) {
      this.ending.fail(error);
      throw this.ending.failure ?? error;
    } finally {
      coordinator.stop();
      // After a failure a subtask may never answer again: its figures go with it.
      await removeRemoteMetrics(this.ending.failure === undefined);
      options.metrics.ready.set({ job: this.jobName }, 0);
      options.onReady?.(false);
      const patience = new AbortController();
      await Promise.race([coordinator.settled(), this.clock.sleep(CLOSE_PATIENCE_MS, patience.signal).catch(() => undefined)]);
      patience.abort();
      reassignments.abort();
      this.link?.detach();
      await Promise.all(this.subtasks.map((s) => (this.ending.failure ? s.terminate() : s.close(CLOSE_PATIENCE_MS))));
      await parquetHost.close();
      await snapshotHost?.close();
      for (const part of this.asyncParts.values()) part.reject(new StreamlineError('the run ended'));
      await this.ownGroup?.leave().catch(() => undefined);
      for (const committer of [await this.commits.committerFor(this.sinkNode)]) await committer.close().catch(() => undefined);
      if (options.closeDeadLetters ?? true) await options.deadLetters.close().catch(() => undefined);
    }
    return { restoredFrom: restoredId, ...(restore.restoredSplits ? { restoredSplits: restore.restoredSplits } : {}), lastCheckpoint: this.lastCheckpoint };
  }

  /** Graceful stop: a final checkpoint whose barrier also stops every subtask's source. */
  stop(): Promise<void> {
    return this.ending.stop();
  }

  /** Stops at once without a final checkpoint. */
  abort(error: Error): void {
    this.ending.fail(error);
  }

  /** Standby mode reads every split: a generator's fixed ones, or what the job's consumer group assigns this (only) member. */
  private async splitsToRead(): Promise<{ generation: number; splits: string[] }> {
    const { options } = this;
    if (options.assignment !== undefined) return { generation: options.assignment.generation, splits: [...options.assignment.splits] };
    const source = this.sourceNode.source;
    if (source.allSplits !== undefined) return { generation: 0, splits: [...source.allSplits()] };
    const group = await source.joinGroup!({ jobName: this.jobName, stepId: this.sourceNode.id, logger: options.logger, metrics: options.metrics, clock: this.clock });
    this.ownGroup = group;
    const assignment = await group.nextAssignment(AbortSignal.timeout(120_000));
    return { generation: assignment.generation, splits: [...assignment.splits] };
  }

  /** What a restored checkpoint still had pending is committed first (committers are idempotent). */
  private async recommit(restore: RestorePlan): Promise<void> {
    const pending = restoredPendingCommits(this.options.flow, restore, this.sinkNode.id);
    if (pending.length === 0) return;
    this.options.logger.info({ sink: this.sinkNode.id, checkpoints: pending.map((p) => p.checkpointId) }, 're-committing pending commits from the restored checkpoint');
    this.options.assertMayCommit?.();
    await (await this.commits.committerFor(this.sinkNode)).commit(pending);
  }

  private taskIds(subtasks: number): string[] {
    const ids = this.options.flow
      .graph()
      .filter((n) => n.kind === 'source' || n.kind === 'sink' || (n.kind === 'operator' && (n.stateful || n.keySelector !== undefined)))
      .map((n) => n.id);
    return Array.from({ length: subtasks }, (_, k) => ids.map((id) => `${id}#${k}`)).flat();
  }

  private onMessage(index: number, message: FromSubtask): void {
    switch (message.type) {
      case 'ready':
        this.ready.add(index);
        if (this.ready.size === this.subtasks.length) this.allReady();
        return;
      case 'ack':
        this.onAck(index, message);
        return;
      case 'ack-async': {
        const part = this.asyncParts.get(`${index}:${message.asyncId}`);
        this.asyncParts.delete(`${index}:${message.asyncId}`);
        if (message.ok) {
          this.inUse.set(index, message.inUse);
          part?.resolve({ sections: message.sections, sharedState: message.sharedState, writtenBytes: message.writtenBytes, fullBytes: message.fullBytes });
        } else part?.reject(fromWireError(index, message.error));
        return;
      }
      case 'dead-letters':
        this.options.deadLetters.send(message.letters);
        return;
      case 'parquet-workers-wanted':
        this.parquetHost?.start();
        return;
      case 'feed-control':
        this.link?.control(message.payload);
        return;
      case 'input-ended':
        this.ended.add(index);
        if (this.ended.size === this.subtasks.length) void this.stop();
        return;
      case 'done':
        this.done.add(index);
        if (this.done.size === this.subtasks.length) this.allDone();
        return;
      case 'failed':
        this.ending.fail(fromWireError(index, message.error));
        return;
      case 'metrics': {
        const request = this.metricsRequests.get(message.id);
        if (request === undefined) return;
        request.got.push(message.metrics);
        if (request.got.length === request.expect) {
          this.metricsRequests.delete(message.id);
          request.resolve(request.got.flat());
        }
        return;
      }
      case 'closed':
        return;
    }
  }

  private onAck(index: number, message: Extract<FromSubtask, { type: 'ack' }>): void {
    const { checkpointId, taskId, sections } = message;
    let pending: Promise<AsyncSnapshotPart> | undefined;
    if (message.asyncId !== undefined) {
      pending = new Promise<AsyncSnapshotPart>((resolve, reject) => this.asyncParts.set(`${index}:${message.asyncId}`, { resolve, reject }));
      pending.catch(() => undefined);
    }
    if (taskId === this.sinkNode.id) {
      let bySubtask = this.sinkAcks.get(checkpointId);
      if (bySubtask === undefined) this.sinkAcks.set(checkpointId, (bySubtask = new Map()));
      const acks = bySubtask;
      // A sealing sink sends its pending commits with the asynchronous part; they are in place before the checkpoint can complete.
      if (pending === undefined) acks.set(String(index), [...sections]);
      else pending.then((part) => acks.set(String(index), [...sections, ...part.sections])).catch(() => undefined);
    } else if (taskId === this.sourceNode.id) {
      const source = this.sourceNode.source;
      const position = sections.find((s) => s.name === 'position');
      if (position !== undefined && source.splits !== undefined) {
        this.sourceAcks.set(checkpointId, { ...this.sourceAcks.get(checkpointId), ...source.splits.toSplits(source.positionSerializer.deserialize(position.version, position.bytes)) });
      }
    }
    this.coordinator?.acknowledge({ taskId: `${taskId}#${index}`, checkpointId, sections, ...(pending ? { pending } : {}) });
  }

  /**
   * A checkpoint is durable and its pointer published: one commit of every subtask's pending
   * files (their pending lists, merged per checkpoint), then tell the subtasks — which drop what
   * was committed — and acknowledge the source positions (Kafka offsets).
   */
  private async onCheckpointCompleted(checkpoint: CompletedCheckpoint): Promise<void> {
    const id = checkpoint.metadata.checkpointId;
    if (this.ending.failure) return;
    const sink = this.sinkNode;
    const lists = [...(this.sinkAcks.get(id)?.values() ?? [])].map((sections) =>
      decodePendingCommits(sections.find((s) => s.name === PENDING_SECTION), sink.sink.committableSerializer, sink.id),
    );
    const requests = mergePendingCommits(lists).filter((r) => r.checkpointId <= id);
    let committed = true;
    if (requests.length > 0) {
      const final = this.ending.isStopping;
      try {
        await this.commits.commit(sink.id, id, final, async () => (await this.commits.committerFor(sink)).commit(requests, { final }));
      } catch (error) {
        if (error instanceof FencingError) {
          this.options.logger.error({ sink: sink.id, checkpoint: id, err: error }, 'commit refused: this instance is fenced');
          this.ending.fail(error);
          return;
        }
        committed = false;
        this.options.logger.warn({ sink: sink.id, checkpoint: id, err: (error as Error).message }, 'sink commit failed; it stays pending and is retried after the next checkpoint');
      }
    }
    for (const s of this.subtasks) s.send({ type: 'checkpoint-complete', checkpointId: id, committed });
    const positions = this.sourceAcks.get(id);
    if (positions !== undefined && this.link !== undefined) {
      await this.link.commit(positions).catch((error: unknown) => this.options.logger.warn({ checkpoint: id, err: (error as Error).message }, 'acknowledging source positions failed; the next checkpoint retries'));
    }
    await runAfterCommit(this.options, id, this.ending.isStopping);
  }

  /** Every subtask's metrics (their registries' JSON), for /metrics to sum; gives up after 2 s. */
  private collectMetrics(): Promise<unknown[]> {
    const id = this.nextMetricsRequest++;
    return new Promise<unknown[]>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        const partial = this.metricsRequests.get(id)?.got.flat() ?? [];
        this.metricsRequests.delete(id);
        resolve(partial);
      }, 2_000, { keepAlive: true });
      this.metricsRequests.set(id, {
        expect: this.subtasks.length,
        got: [],
        resolve: (metrics) => {
          timer.cancel();
          resolve(metrics);
        },
      });
      for (const s of this.subtasks) s.send({ type: 'metrics-request', id });
    });
  }

  private sinkContext(stepId: string): SinkContext {
    return sinkContextFor({ ...this.options, jobName: this.jobName, scope: this.scope, clock: this.clock }, stepId);
  }
}
