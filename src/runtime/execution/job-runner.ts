import type { Observable } from 'rxjs';
import type { CheckpointStore, CompletedCheckpoint } from '../checkpoint-store.js';
import type { DeadLetter, DeadLetterSink } from '../dead-letter.js';
import { JobDefinitionError, RestoreError, StreamlineError } from '../errors.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { GraphNode, SinkNode } from '../graph/graph-node.js';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { Committer, SinkContext, SplitProgress } from '../sink.js';
import type { SplitAssignment } from '../split-group.js';
import type { KeyedStateBackend } from '../state/keyed-state-backend.js';
import type { StreamElement } from '../stream-element.js';
import { CheckpointCoordinator } from './checkpoint-coordinator.js';
import { compileCheckpointOptions, type CheckpointOptions } from './checkpoint-options.js';
import { OperatorStage } from './operator-stage.js';
import { PipelineCapacity } from './pipeline-capacity.js';
import { SinkStage } from './sink-stage.js';
import { SourceDriver } from './source-driver.js';
import { UnionStage } from './union-stage.js';
import { checkRestoreAgainstOutput } from './replay-guard.js';
import { restoreSplits } from './split-restore.js';
import { decodeStateEnvelope, type StateSection } from './state-envelope.js';

/** How long a failing or stopping job waits for a commit in flight before closing its sinks. */
const COMMIT_SETTLE_MS = 15_000;

/** Which checkpoint a run starts from. */
export type RestoreSelection = 'latest' | 'none' | number;

export interface JobRunnerOptions {
  readonly flow: Dataflow;
  readonly store: CheckpointStore;
  readonly checkpoint?: CheckpointOptions;
  readonly restoreFrom?: RestoreSelection;
  /** Latest checkpoint id published in the HA store, if one is used (preferred over listing). */
  readonly haLatestCheckpointId?: () => Promise<number | undefined>;
  /** Max elements waiting in the pipeline before sources pause. Default 16 batches. */
  readonly capacity?: number;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly deadLetters: DeadLetterSink;
  readonly createKeyedState: (stepId: string) => KeyedStateBackend;
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
  readonly now?: () => number;
}

/** What a finished run reports. */
export interface JobRunResult {
  readonly restoredFrom: number | undefined;
  /** Group mode: splits whose state and positions came from the output's last commits. */
  readonly restoredSplits?: readonly string[];
  readonly lastCheckpoint: number | undefined;
}

/**
 * Runs a dataflow in this process: restores, wires the stages over RxJS subjects, starts the
 * sources and the checkpoint coordinator, and ends after a final checkpoint (bounded input or
 * `stop()`), or rejects when anything fails — without committing partial state.
 */
export class JobRunner {
  private readonly capacity: PipelineCapacity;
  private readonly drivers: SourceDriver[] = [];
  private readonly sinks: SinkStage[] = [];
  private readonly operators: OperatorStage[] = [];
  private coordinator: CheckpointCoordinator | undefined;
  private failure: Error | undefined;
  private rejectRun: ((error: Error) => void) | undefined;
  private stopping: Promise<void> | undefined;
  private lastCheckpoint: number | undefined;
  private readonly jobName: string;
  private started = false;
  private running = false;
  /** Aborted when the job fails or ends, so a source waiting in `poll` returns promptly. */
  private readonly stopSources = new AbortController();
  private stopRequested = false;
  private readonly scope: string;
  /** Committers created before wiring (group mode claims its splits through them first). */
  private readonly committers = new Map<string, Committer<unknown>>();
  /** Per checkpoint, each source's position split by split (when every source reads splits). */
  private readonly splitPositions = new Map<number, Map<string, Readonly<Record<string, number>>>>();

  constructor(private readonly options: JobRunnerOptions) {
    options.flow.validate();
    this.jobName = options.flow.name;
    this.scope = options.checkpointScope ?? this.jobName;
    this.capacity = new PipelineCapacity(options.capacity ?? 16);
  }

  /** Restores and runs until the job finishes or fails. */
  async run(): Promise<JobRunResult> {
    if (this.started) throw new StreamlineError('A JobRunner runs once; create a new one to run again.');
    this.started = true;
    const { options } = this;
    const checkpointOptions = compileCheckpointOptions(options.checkpoint);
    let restored: CompletedCheckpoint | undefined;
    let states: Map<string, Map<string, StateSection>>;
    const positions = new Map<string, unknown>();
    let restoredSplits: readonly string[] | undefined;
    if (options.assignment !== undefined) {
      const split = await this.restoreAssignment(options.assignment);
      states = split.states;
      restoredSplits = split.restoredSplits;
      if (split.sourcePosition !== undefined) positions.set(split.sourceId, split.sourcePosition);
    } else {
      restored = await this.selectCheckpoint();
      states = restored ? await this.readStates(restored) : new Map<string, Map<string, StateSection>>();
      const newer = await this.checkAgainstOutput(restored, states);
      if (newer !== undefined) {
        restored = newer;
        states = await this.readStates(newer);
      }
    }
    const firstId = Math.max(0, restored?.metadata.checkpointId ?? 0, (await options.store.highestCheckpointId(this.scope)) ?? 0) + 1;

    const failed = new Promise<never>((_, reject) => (this.rejectRun = reject));
    failed.catch(() => undefined);

    this.coordinator = new CheckpointCoordinator(
      this.jobName,
      this.scope,
      options.store,
      checkpointOptions,
      {
        taskIds: this.taskIds(),
        injectBarriers: (id, ts, thenStop) => {
          for (const d of this.drivers) d.injectBarrier({ kind: 'barrier', checkpointId: id, timestamp: ts, thenStop });
        },
        assertMayCommit: () => options.assertMayCommit?.(),
        onCompleted: (checkpoint) => this.onCheckpointCompleted(checkpoint),
        retainedCheckpoints: () => this.referencedCheckpoints(),
        deadLetters: options.deadLetters,
      },
      options.metrics,
      options.logger,
      options.fencingToken ?? (() => 0n),
      firstId,
      (error) => this.fail(error),
    );

    await this.wire(states, positions);
    for (const sink of this.sinks) {
      const pending = sink.restorePending(states.get(sink.taskId));
      if (pending.length > 0) {
        options.logger.info({ sink: sink.taskId, checkpoints: pending.map((p) => p.checkpointId) }, 're-committing pending commits from the restored checkpoint');
        options.assertMayCommit?.();
        await sink.commitUpTo(Number.MAX_SAFE_INTEGER);
      }
    }
    if (restored) {
      options.metrics.restores.inc({ job: this.jobName });
      options.logger.info({ checkpoint: restored.metadata.checkpointId, location: restored.location }, 'restored');
    } else if (restoredSplits !== undefined && restoredSplits.length > 0) {
      options.metrics.restores.inc({ job: this.jobName });
    }
    options.metrics.ready.set({ job: this.jobName }, 1);
    options.onReady?.(true);

    const running = Promise.all(this.drivers.map((d) => d.run()));
    this.coordinator.start();
    this.running = true;
    if (this.stopRequested) void this.stop();
    try {
      await Promise.race([Promise.all([running, ...this.sinks.map((s) => s.done)]), failed]);
      await this.stopping;
      if (this.failure) throw this.failure;
    } catch (error) {
      this.fail(error);
      throw this.failure ?? error;
    } finally {
      this.coordinator.stop();
      options.metrics.ready.set({ job: this.jobName }, 0);
      options.onReady?.(false);
      // A commit that already started finishes (it lands whole or is refused, e.g. fenced) before the sinks close.
      await Promise.race([Promise.all(this.sinks.map((s) => s.commitsSettled())), new Promise((r) => setTimeout(r, COMMIT_SETTLE_MS).unref())]);
      this.stopSources.abort();
      await this.closeAll();
    }
    return { restoredFrom: restored?.metadata.checkpointId, ...(restoredSplits ? { restoredSplits } : {}), lastCheckpoint: this.lastCheckpoint };
  }

  /**
   * Group mode: checks the flow can hand splits over (one source that reads splits, operator
   * state only keyed or resettable, one sink whose output records split progress), claims the
   * splits through that sink's committer and reads their state from the checkpoints its output names.
   */
  private async restoreAssignment(assignment: SplitAssignment) {
    const sources = this.options.flow.nodesOf('source');
    const sinks = this.options.flow.nodesOf('sink');
    const source = sources[0];
    if (sources.length !== 1 || source === undefined || source.source.splits === undefined || source.source.joinGroup === undefined) {
      throw new JobDefinitionError(`Group mode (SCALE_OUT=group) needs exactly one source whose input is divided into splits (a Kafka topic); job '${this.jobName}' has ${sources.map((s) => `'${s.id}' (${s.source.kind})`).join(', ') || 'none'}.`);
    }
    for (const node of this.options.flow.nodesOf('operator')) {
      const probe = node.createOperator();
      if (probe.snapshot !== undefined && probe.operatorStateInGroupMode !== 'reset') {
        throw new JobDefinitionError(
          `Group mode (SCALE_OUT=group): step '${node.id}' keeps operator state that belongs to no split (e.g. buffered records), so it cannot move with Kafka partitions between instances. Keep such state keyed (after keyBy), or run one instance (SCALE_OUT=standby).`,
        );
      }
    }
    const sink = sinks[0];
    if (sinks.length !== 1 || sink === undefined) {
      throw new JobDefinitionError(`Group mode (SCALE_OUT=group) needs exactly one committing sink, whose output records each split's progress; job '${this.jobName}' has ${sinks.length}.`);
    }
    const committer = await this.committerFor(sink);
    if (committer.claimSplits === undefined) {
      throw new JobDefinitionError(`Group mode (SCALE_OUT=group): sink '${sink.id}' (${sink.sink.kind}) cannot record source positions with its commits, so splits cannot move between instances exactly once. Use the Iceberg sink, or run one instance (SCALE_OUT=standby).`);
    }
    const committed = await committer.claimSplits(assignment.splits);
    const restored = await restoreSplits({ flow: this.options.flow, store: this.options.store, committed, splitPositions: source.source.splits, logger: this.options.logger });
    return { ...restored, sourceId: source.id };
  }

  /**
   * Standby mode: the restore point must not be behind what a sink's output already holds (see
   * replay-guard.ts). Returns the newer checkpoint to restore instead, if the output names one;
   * throws RestoreError when restoring would write records twice. Skipped for FROM_CHECKPOINT=none.
   */
  private async checkAgainstOutput(restored: CompletedCheckpoint | undefined, states: Map<string, Map<string, StateSection>>): Promise<CompletedCheckpoint | undefined> {
    const { options } = this;
    if (options.restoreFrom === 'none') return undefined;
    const sources = options.flow.nodesOf('source');
    const source = sources[0];
    if (sources.length !== 1 || source?.source.splits === undefined) return undefined;
    const section = states.get(source.id)?.get('position');
    const positions = section ? source.source.splits.toSplits(source.source.positionSerializer.deserialize(section.version, section.bytes)) : {};
    for (const node of options.flow.nodesOf('sink')) {
      const committed = await (await this.committerFor(node)).committedSplits?.();
      if (committed === undefined || committed.size === 0) continue;
      const verdict = checkRestoreAgainstOutput({
        scope: this.scope,
        restored: restored === undefined ? undefined : { checkpointId: restored.metadata.checkpointId, positions },
        committed,
        explicit: typeof options.restoreFrom === 'number',
      });
      if (verdict.kind === 'refuse') throw new RestoreError(verdict.message);
      if (verdict.kind === 'use-newer') {
        options.logger.warn(
          { chosen: restored?.metadata.checkpointId, restoring: verdict.checkpointId, splits: verdict.splits },
          'the table already holds a newer checkpoint than the one chosen to restore; restoring that one instead, so nothing is written twice',
        );
        return this.options.store.load(this.scope, verdict.checkpointId).catch((error: unknown) => {
          throw new RestoreError(`The table already holds checkpoint ${verdict.checkpointId} of ${this.scope}, which cannot be read (${(error as Error).message}); restoring an older one would write its records twice. Make it readable, or start over deliberately with FROM_CHECKPOINT=none.`, { cause: error });
        });
      }
    }
    return undefined;
  }

  /** The committer of a sink node, created once per run (restore may need it before the pipeline is wired). */
  private async committerFor(node: SinkNode): Promise<Committer<unknown>> {
    let committer = this.committers.get(node.id);
    if (committer === undefined) this.committers.set(node.id, (committer = await node.sink.createCommitter(this.sinkContext(node.id))));
    return committer;
  }

  private sinkContext(stepId: string): SinkContext {
    const { options } = this;
    return {
      jobName: this.jobName,
      stepId,
      logger: options.logger.child({ step: stepId }),
      metrics: options.metrics,
      deadLetters: options.deadLetters,
      fencingToken: options.fencingToken ?? (() => 0n),
      checkpointScope: this.scope,
    };
  }

  /** Checkpoints of this run's scope that a sink's output still names: retention must keep them. */
  private referencedCheckpoints(): ReadonlySet<number> {
    const ids = new Set<number>();
    for (const committer of this.committers.values()) for (const id of committer.referencedCheckpoints?.(this.scope) ?? []) ids.add(id);
    return ids;
  }

  /** Where every source stood at `checkpointId`, if every source reads splits. */
  private splitProgress(checkpointId: number): SplitProgress | undefined {
    const bySource = this.splitPositions.get(checkpointId);
    if (bySource === undefined || bySource.size !== this.drivers.length) return undefined;
    const positions: Record<string, number> = {};
    for (const splits of bySource.values()) Object.assign(positions, splits);
    return { positions, checkpoint: { scope: this.scope, checkpointId } };
  }

  /**
   * Graceful stop (stop-with-savepoint): a final checkpoint whose barrier also stops the sources;
   * resolves when it completed and the sinks committed.
   */
  stop(): Promise<void> {
    if (!this.running) {
      // Still restoring: stop as soon as the pipeline runs (a final checkpoint needs running sources).
      this.stopRequested = true;
      return Promise.resolve();
    }
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      const coordinator = this.coordinator;
      if (coordinator === undefined) return;
      coordinator.stop();
      const completed = await coordinator.trigger(true);
      if (completed === undefined && !this.failure) {
        this.fail(new StreamlineError('The final checkpoint of the graceful stop failed; the next start restores from the previous checkpoint.'));
      }
    })();
    return this.stopping;
  }

  /** Stops at once without a final checkpoint (second signal, fatal error). */
  abort(error: Error): void {
    this.fail(error);
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.failure) return;
    this.failure = err;
    this.options.logger.error({ err }, 'job failed');
    this.coordinator?.abortAll();
    this.stopSources.abort(err);
    for (const d of this.drivers) d.abort();
    this.rejectRun?.(err);
  }

  private taskIds(): string[] {
    return this.options.flow
      .graph()
      .filter((n) => n.kind === 'source' || n.kind === 'sink' || (n.kind === 'operator' && (n.stateful || n.keySelector !== undefined)))
      .map((n) => n.id);
  }

  private async selectCheckpoint(): Promise<CompletedCheckpoint | undefined> {
    const { store, restoreFrom = 'latest', logger } = this.options;
    if (restoreFrom === 'none') return undefined;
    if (typeof restoreFrom === 'number') return store.load(this.scope, restoreFrom);
    const pointed = await this.options.haLatestCheckpointId?.();
    if (pointed !== undefined) {
      try {
        return await store.load(this.scope, pointed);
      } catch (error) {
        logger.warn({ checkpoint: pointed, err: (error as Error).message }, 'checkpoint named by the HA pointer is unreadable; falling back to the newest readable one');
      }
    }
    const completed = await store.listCompleted(this.scope, (id, reason) => logger.warn({ checkpoint: id, reason }, 'skipping unusable checkpoint'));
    return completed[0];
  }

  private async readStates(checkpoint: CompletedCheckpoint): Promise<Map<string, Map<string, StateSection>>> {
    const states = new Map<string, Map<string, StateSection>>();
    const known = new Set(this.options.flow.graph().map((n) => n.id));
    for (const [taskId, handle] of Object.entries(checkpoint.metadata.operators)) {
      if (!known.has(taskId)) {
        this.options.logger.warn({ step: taskId, checkpoint: checkpoint.metadata.checkpointId }, 'checkpoint has state for a step this job no longer has; ignoring it');
        continue;
      }
      const bytes = await this.options.store.readState(this.scope, checkpoint.metadata.checkpointId, handle);
      states.set(taskId, decodeStateEnvelope(bytes, taskId));
    }
    return states;
  }

  private async wire(states: Map<string, Map<string, StateSection>>, restoredPositions: ReadonlyMap<string, unknown>): Promise<void> {
    const { options } = this;
    const streams = new Map<string, Observable<StreamElement<unknown>>>();
    const operatorStages = new Map<string, OperatorStage>();
    const sideConsumers = new Set(options.flow.graph().flatMap((n) => (n.kind === 'side-output' ? [`${n.input.id}#${n.tag}`] : [])));
    const ack = (s: Parameters<CheckpointCoordinator['acknowledge']>[0]) => this.coordinator!.acknowledge(s);
    const input = (node: GraphNode): Observable<StreamElement<unknown>> => {
      const stream = streams.get(node.id);
      if (stream === undefined) throw new StreamlineError(`internal: ${node.id} wired before its input`);
      return stream;
    };
    const endedSources = new Set<string>();

    for (const node of options.flow.graph()) {
      switch (node.kind) {
        case 'source': {
          const reader = node.source.createReader();
          const section = states.get(node.id)?.get('position');
          const position = restoredPositions.has(node.id) ? restoredPositions.get(node.id) : section ? node.source.positionSerializer.deserialize(section.version, section.bytes) : undefined;
          const splits = node.source.splits;
          const onPosition = splits === undefined ? undefined : (checkpointId: number, p: unknown) => {
            let bySource = this.splitPositions.get(checkpointId);
            if (bySource === undefined) this.splitPositions.set(checkpointId, (bySource = new Map()));
            bySource.set(node.id, splits.toSplits(p));
          };
          const driver = new SourceDriver(node.id, reader, node.source.positionSerializer, this.capacity, ack, options.metrics, options.logger, this.jobName, (id) => {
            endedSources.add(id);
            if (endedSources.size === this.drivers.length) void this.stop();
          }, onPosition);
          await reader.open(
            {
              jobName: this.jobName,
              stepId: node.id,
              logger: options.logger.child({ step: node.id }),
              metrics: options.metrics,
              deadLetters: options.deadLetters,
              signal: this.stopSources.signal,
              ...(options.assignment ? { assignment: options.assignment } : {}),
            },
            position,
          );
          this.drivers.push(driver);
          streams.set(node.id, driver.output);
          break;
        }
        case 'operator': {
          const stage = new OperatorStage(input(node.input), {
            taskId: node.id,
            jobName: this.jobName,
            operator: node.createOperator(),
            keyedState: node.keySelector ? options.createKeyedState(node.id) : undefined,
            keySelector: node.keySelector,
            stateful: node.stateful || node.keySelector !== undefined,
            restored: states.get(node.id),
            ack,
            metrics: options.metrics,
            logger: options.logger,
            deadLetters: options.deadLetters,
            now: options.now ?? Date.now,
            fail: (error) => this.fail(error),
          });
          stage.onUnconsumedSide((tag, records) => this.unconsumedSide(node.id, tag, records, sideConsumers));
          operatorStages.set(node.id, stage);
          this.operators.push(stage);
          streams.set(node.id, stage.output);
          break;
        }
        case 'union': {
          streams.set(node.id, new UnionStage(node.inputs.map(input), this.capacity).output);
          break;
        }
        case 'side-output':
          streams.set(node.id, operatorStages.get(node.input.id)!.side(node.tag));
          break;
        case 'sink': {
          const writer = await node.sink.createWriter(this.sinkContext(node.id));
          const committer = await this.committerFor(node);
          const stage = new SinkStage(input(node.input), node.id, this.jobName, writer, committer, node.sink.committableSerializer, this.capacity, ack, options.metrics, options.logger, (id) =>
            this.splitProgress(id),
          );
          stage.done.catch((error: unknown) => this.fail(error));
          this.sinks.push(stage);
          break;
        }
      }
    }
  }

  /** Side records nobody consumes: late records are dead letters (never dropped silently); others are counted. */
  private unconsumedSide(stepId: string, tag: string, records: readonly unknown[], consumers: Set<string>): void {
    if (consumers.has(`${stepId}#${tag}`)) return;
    if (tag === 'late') {
      const letters: DeadLetter[] = records.map((r) => ({ reason: 'late_record', detail: `record behind the watermark at step '${stepId}'`, step: stepId, payload: JSON.stringify(r) }));
      this.options.deadLetters.send(letters);
      this.options.metrics.deadLetters.inc({ job: this.jobName, operator: stepId, reason: 'late_record' }, records.length);
    } else {
      this.options.metrics.recordsOut.inc({ job: this.jobName, operator: `${stepId}#${tag}` }, records.length);
    }
  }

  private async onCheckpointCompleted(checkpoint: CompletedCheckpoint): Promise<void> {
    const id = checkpoint.metadata.checkpointId;
    this.lastCheckpoint = id;
    for (const older of this.splitPositions.keys()) if (older <= id) this.splitPositions.delete(older);
    await this.options.onCheckpointDurable?.(checkpoint);
    // The final checkpoint of a stop (or of a hand-over before a rebalance) publishes progress even without data.
    const final = this.stopping !== undefined;
    for (const sink of this.sinks) {
      if (this.failure) return;
      try {
        this.options.assertMayCommit?.();
        await sink.commitUpTo(id, { final });
      } catch (error) {
        const err = error as Error;
        if (err.name === 'LeaseLostError' || err.name === 'FencedError') {
          this.options.logger.error({ sink: sink.taskId, checkpoint: id, err }, 'commit refused: this instance is fenced');
          this.fail(err);
          return;
        }
        this.options.logger.warn({ sink: sink.taskId, checkpoint: id, err: err.message }, 'sink commit failed; it stays pending and is retried after the next checkpoint');
      }
    }
    await Promise.all(
      this.drivers.map((d) =>
        d.notifyCheckpointComplete(id).catch((error: unknown) => this.options.logger.warn({ source: d.taskId, err: (error as Error).message }, 'source could not acknowledge the checkpoint')),
      ),
    );
  }

  private async closeAll(): Promise<void> {
    const close = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        this.options.logger.warn({ what, err: (error as Error).message }, 'close failed');
      }
    };
    for (const d of this.drivers) await close(d.taskId, () => d.close());
    for (const s of this.sinks) await close(s.taskId, () => s.close());
    if (this.options.closeDeadLetters ?? true) await close('dead letters', () => this.options.deadLetters.close());
  }
}
