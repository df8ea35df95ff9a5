import type { CheckpointStore } from '../checkpoint-store.js';
import type { DeadLetterSink } from '../dead-letter.js';
import { FencingError, StreamlineError } from '../../errors.js';
import { CommitDriver } from '../execution/commit-driver.js';
import { buildPipeline, type Pipeline } from '../execution/pipeline-builder.js';
import { PipelineCapacity } from '../execution/pipeline-capacity.js';
import { PipelineInput } from '../execution/pipeline-input.js';
import type { RestorePlan } from '../execution/restore-planner.js';
import type { StateSection } from '../execution/state-envelope.js';
import type { TaskSnapshot } from '../execution/task-snapshot.js';
import { TaskMailbox } from '../execution/task-mailbox.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { SinkContext } from '../sink.js';
import type { KeyedStateBackend, KeyedStateContext } from '../state/keyed-state-backend.js';
import { InlineSnapshotFileWriter, type SnapshotFileWriter } from '../state/snapshot/snapshot-file-writer.js';
import type { MaterializationPermit } from '../state/snapshot/materialization-permit.js';
import { WorkerSnapshotFileWriter } from '../state/snapshot/worker-snapshot-file-writer.js';
import type { Clock } from '../time/clock.js';
import type { MessagePort } from 'node:worker_threads';
import type { Observable } from 'rxjs';
import type { OperatorNode } from '../graph/graph-node.js';
import type { StreamElement } from '../stream-element.js';
import { keyGroupRange } from '../state/key-group.js';
import { ExchangeHub } from './exchange/exchange-hub.js';
import { ownedSplitsOf } from './parallel-restore.js';
import { ExchangeReceiver } from './exchange/exchange-receiver.js';
import { ExchangeSender } from './exchange/exchange-sender.js';
import type { FromSubtask, WireError } from './subtask-protocol.js';

/** What a subtask runs with. */
export interface SubtaskRunnerOptions {
  readonly flow: Dataflow;
  readonly index: number;
  readonly store: CheckpointStore;
  readonly scope: string;
  readonly restore: RestorePlan;
  readonly generation: number;
  readonly splits: readonly string[];
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly deadLetters: DeadLetterSink;
  readonly createKeyedState: (context: KeyedStateContext) => KeyedStateBackend;
  readonly stateDir: string;
  /** Subtasks of the run. */
  readonly parallelism: number;
  /** Port to every other subtask (keyed exchanges), by subtask index; `undefined` at this one's. */
  readonly peers: readonly (MessagePort | undefined)[];
  /** Shared with the process's other subtasks: one keyed-state materialization at a time. */
  readonly materializationPermit?: MaterializationPermit;
  /** A port to the process's shared snapshot worker, for the write lane of keyed-state snapshots. */
  readonly snapshotWorker?: MessagePort;
  /** To the coordinator. */
  readonly post: (message: FromSubtask, transfer?: ArrayBuffer[]) => void;
}

/**
 * One parallel subtask: the job's pipeline for a share of the source's splits, driven by the same
 * mailbox loop as a whole job in one thread. Before each keyed step a keyed exchange sends every
 * record to the subtask owning its key's key group, so this subtask's keyed state holds the keys
 * of its key-group range, whichever splits they arrive from; a source-partitioned step has no
 * exchange and holds the keys of this subtask's splits. Barriers come from the coordinator; snapshots go
 * back to it (the asynchronous part when it is done). Sink writers pre-commit here, but
 * committing is the coordinator's: it commits every subtask's files in one commit and then says
 * so (`checkpointComplete`), which is when pending commits are dropped here.
 */
export class SubtaskRunner {
  private readonly mailbox: TaskMailbox;
  /** Batches in flight between the subtask's sources and sinks: few, since a barrier waits behind them (see CHANNEL_CREDITS). */
  private readonly capacity = new PipelineCapacity(4);
  private readonly commits: CommitDriver;
  private pipeline: Pipeline | undefined;
  private writer: SnapshotFileWriter | undefined;
  private failure: Error | undefined;
  private nextAsyncId = 1;
  private readonly stopSources = new AbortController();
  private readonly hub: ExchangeHub | undefined;
  private readonly senders: ExchangeSender[] = [];
  private readonly receivers: ExchangeReceiver[] = [];

  constructor(private readonly options: SubtaskRunnerOptions) {
    this.mailbox = new TaskMailbox({
      clock: options.clock,
      onMailError: (error, description) => this.fail(new StreamlineError(`${description} failed: ${(error as Error).message}`, { cause: error })),
    });
    this.commits = new CommitDriver({
      jobName: options.flow.name,
      scope: options.scope,
      logger: options.logger,
      sinkContext: (stepId) => this.sinkContext(stepId),
      assertMayCommit: () => undefined,
      clock: options.clock,
      hasFailed: () => this.failure !== undefined,
    });
    if (options.parallelism > 1) this.hub = new ExchangeHub(options.index, options.peers);
  }

  /** Restores and wires the pipeline; then the coordinator may start it. */
  async open(): Promise<void> {
    const { options } = this;
    const spec = options.store.spec;
    this.writer = spec !== undefined && WorkerSnapshotFileWriter.isAvailable() ? new WorkerSnapshotFileWriter(spec, options.materializationPermit, options.snapshotWorker) : new InlineSnapshotFileWriter(options.store, options.clock);
    this.pipeline = await buildPipeline({
      flow: options.flow,
      restore: options.restore,
      capacity: this.capacity,
      ack: (snapshot) => this.ack(snapshot),
      commits: this.commits,
      clock: options.clock,
      mail: (description, action) => this.mailbox.send(description, action),
      metrics: options.metrics,
      logger: options.logger,
      deadLetters: options.deadLetters,
      createKeyedState: options.createKeyedState,
      keyedStateContext: {
        scope: options.scope,
        store: options.store,
        writer: this.writer,
        clock: options.clock,
        logger: options.logger,
        workDir: options.stateDir,
        ...(this.hub === undefined ? {} : { keyGroupRange: keyGroupRange(options.index, options.parallelism), ownedSplits: ownedSplitsOf(options.index, options.splits) }),
      },
      stopSignal: this.stopSources.signal,
      assignment: { generation: options.generation, splits: options.splits },
      onAllInputEnded: () => options.post({ type: 'input-ended' }),
      onAligned: () => undefined,
      fail: (error) => this.fail(error),
      ...(this.hub === undefined ? {} : { repartition: (node: OperatorNode, input: Observable<StreamElement<unknown>>) => this.exchange(node, input) }),
    });
  }

  /** A keyed exchange before `node`: its records leave through a sender and come back, from every subtask, through a receiver. */
  private exchange(node: OperatorNode, input: Observable<StreamElement<unknown>>): Observable<StreamElement<unknown>> {
    const hub = this.hub!;
    const x = this.senders.length;
    this.senders.push(new ExchangeSender(x, node.keySelector!, hub, input, (error) => this.fail(error)));
    const receiver = new ExchangeReceiver(x, hub, this.options.clock, () => undefined);
    this.receivers.push(receiver);
    return receiver.output;
  }

  /** Runs the loop until the stop barrier went through and the sinks drained. */
  async run(): Promise<void> {
    const pipeline = this.pipeline!;
    const senders = this.senders;
    const exchanges = this.hub === undefined ? undefined : { inputs: this.receivers, hasRoom: () => senders.every((s) => s.hasRoom()) };
    const loop = this.mailbox.run(new PipelineInput(pipeline.sources, pipeline.sinks, this.capacity, [...pipeline.keyedState.values()], exchanges));
    await Promise.all([loop, ...pipeline.sinks.map((s) => s.done)]);
    if (this.failure) throw this.failure;
  }

  /** From the coordinator: inject the barrier of `checkpointId` at every source. */
  injectBarrier(checkpointId: number, timestamp: number, thenStop: boolean): void {
    this.mailbox.send(`barrier of checkpoint ${checkpointId}`, () => {
      for (const source of this.pipeline?.sources ?? []) source.injectBarrier({ kind: 'barrier', checkpointId, timestamp, thenStop });
    });
  }

  /** From the coordinator: checkpoint `checkpointId` completed (and was committed when `committed`). */
  checkpointComplete(checkpointId: number, committed: boolean): void {
    const pipeline = this.pipeline;
    if (pipeline === undefined) return;
    if (committed) for (const sink of pipeline.sinks) sink.dropPendingUpTo(checkpointId);
    this.mailbox.send(`checkpoint ${checkpointId} complete`, () => {
      for (const source of pipeline.sources) {
        source.notifyCheckpointComplete(checkpointId).catch((error: unknown) => this.options.logger.warn({ source: source.taskId, err: (error as Error).message }, 'source could not acknowledge the checkpoint'));
      }
    });
  }

  /** From the coordinator: retention after `checkpointId` ran. */
  checkpointFinished(checkpointId: number): void {
    for (const backend of this.pipeline?.keyedState.values() ?? []) backend.checkpointFinished(checkpointId);
  }

  /** Ends the run: closes readers, writers and state (also after a failure elsewhere). */
  async close(): Promise<void> {
    this.mailbox.close();
    this.stopSources.abort();
    for (const source of this.pipeline?.sources ?? []) source.abort();
    const pipeline = this.pipeline;
    if (pipeline !== undefined) {
      const quietly = async (what: string, fn: () => Promise<void>) => fn().catch((error: unknown) => this.options.logger.warn({ what, err: (error as Error).message }, 'close failed'));
      for (const source of pipeline.sources) await quietly(source.taskId, () => source.close());
      for (const sink of pipeline.sinks) await quietly(sink.taskId, () => sink.close());
      for (const [stepId, backend] of pipeline.keyedState) await quietly(stepId, () => backend.close());
    }
    if (this.writer instanceof WorkerSnapshotFileWriter) await this.writer.close();
    this.hub?.close();
  }

  private ack(snapshot: TaskSnapshot): void {
    const { post } = this.options;
    if (snapshot.pending === undefined) {
      post({ type: 'ack', taskId: snapshot.taskId, checkpointId: snapshot.checkpointId, sections: [...snapshot.sections] });
      return;
    }
    const asyncId = this.nextAsyncId++;
    post({ type: 'ack', taskId: snapshot.taskId, checkpointId: snapshot.checkpointId, sections: [...snapshot.sections], asyncId });
    snapshot.pending.then(
      (part) =>
        post({
          type: 'ack-async',
          asyncId,
          ok: true,
          sections: [...part.sections],
          sharedState: [...part.sharedState],
          writtenBytes: part.writtenBytes,
          fullBytes: part.fullBytes,
          inUse: this.sharedFilesInUse(),
        }),
      (error: unknown) => post({ type: 'ack-async', asyncId, ok: false, error: toWireError(error) }),
    );
  }

  /** Shared files every keyed backend of this subtask references or is writing. */
  sharedFilesInUse(): string[] {
    const names = new Set<string>();
    for (const backend of this.pipeline?.keyedState.values() ?? []) for (const name of backend.sharedFilesInUse()) names.add(name);
    return [...names];
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.options.logger.error({ err: this.failure }, 'subtask failed');
    this.mailbox.close();
    for (const source of this.pipeline?.sources ?? []) source.abort();
    this.options.post({ type: 'failed', error: toWireError(this.failure) });
  }

  private sinkContext(stepId: string): SinkContext {
    const { options } = this;
    return {
      jobName: options.flow.name,
      stepId,
      logger: options.logger.child({ step: stepId }),
      metrics: options.metrics,
      deadLetters: options.deadLetters,
      fencingToken: () => 0n,
      checkpointScope: options.scope,
      clock: options.clock,
    };
  }
}

/** An error for the coordinator, keeping what it reacts to (fencing, retriable). */
export function toWireError(error: unknown): WireError {
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    name: err.name,
    message: err.message,
    ...(err.stack ? { stack: err.stack } : {}),
    fencing: err instanceof FencingError,
    retriable: err instanceof StreamlineError && err.retriable,
  };
}

/** Sections as the protocol carries them, back into the map the runtime reads. */
export function sectionMap(sections: readonly StateSection[]): Map<string, StateSection> {
  return new Map(sections.map((s) => [s.name, s]));
}
