import type { Observable } from 'rxjs';
import type { DeadLetter, DeadLetterSink } from '../dead-letter.js';
import { StreamlineError } from '../../errors.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { GraphNode, OperatorNode } from '../graph/graph-node.js';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { SplitAssignment } from '../split-group.js';
import type { KeyedStateBackend, KeyedStateContext } from '../state/keyed-state-backend.js';
import type { StreamElement } from '../stream-element.js';
import type { Clock } from '../time/clock.js';
import type { CommitDriver } from './commit-driver.js';
import { OperatorStage } from './operator-stage.js';
import type { PipelineCapacity } from './pipeline-capacity.js';
import type { RestorePlan } from './restore-planner.js';
import { SinkStage } from './sink-stage.js';
import { SourceDriver } from './source-driver.js';
import { StepBusyTimer } from './step-busy-timer.js';
import type { SnapshotAck } from './task-snapshot.js';
import { UnionStage } from './union-stage.js';

/** A compiled pipeline: the stages the task's mailbox loop drives. */
export interface Pipeline {
  readonly sources: readonly SourceDriver[];
  readonly operators: readonly OperatorStage[];
  readonly sinks: readonly SinkStage[];
  /** The keyed state backends of keyed operators, by step id. */
  readonly keyedState: ReadonlyMap<string, KeyedStateBackend>;
}

/** What compiling a flow into stages needs. */
export interface PipelineBuildOptions {
  readonly flow: Dataflow;
  readonly restore: RestorePlan;
  readonly capacity: PipelineCapacity;
  readonly ack: SnapshotAck;
  readonly commits: CommitDriver;
  readonly clock: Clock;
  /** Runs control work on the task's mailbox loop. */
  readonly mail: (description: string, action: () => void) => void;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly deadLetters: DeadLetterSink;
  readonly createKeyedState: (context: KeyedStateContext) => KeyedStateBackend;
  /** What every keyed backend gets besides its step id. */
  readonly keyedStateContext: Omit<KeyedStateContext, 'stepId'>;
  /** A union aligned barriers: how long it blocked an input. */
  readonly onAligned: (checkpointId: number, ms: number) => void;
  /** Aborted when the run ends; a source waiting in `poll` returns promptly. */
  readonly stopSignal: AbortSignal;
  readonly assignment?: SplitAssignment;
  /** Every source reached the end of its bounded input. */
  readonly onAllInputEnded: () => void;
  /** Something failed outside the stages' own error paths: the run fails. */
  readonly fail: (error: unknown) => void;
  /**
   * Parallel subtasks: the input of a keyed step, re-partitioned by its key across the subtasks
   * (a keyed exchange); the step then reads what this returns.
   */
  readonly repartition?: (node: OperatorNode, input: Observable<StreamElement<unknown>>) => Observable<StreamElement<unknown>>;
}

/**
 * Compiles the logical graph into stages over RxJS subjects — source drivers, operator stages,
 * aligning unions, side outputs, two-phase-commit sinks — restoring each from its section of the
 * restore plan and opening sources at their restored positions.
 */
export async function buildPipeline(options: PipelineBuildOptions): Promise<Pipeline> {
  const { flow, restore, metrics, logger } = options;
  const jobName = flow.name;
  const streams = new Map<string, Observable<StreamElement<unknown>>>();
  const operatorStages = new Map<string, OperatorStage>();
  const sources: SourceDriver[] = [];
  const sinks: SinkStage[] = [];
  const keyedState = new Map<string, KeyedStateBackend>();
  const sideConsumers = new Set(flow.graph().flatMap((n) => (n.kind === 'side-output' ? [`${n.input.id}#${n.tag}`] : [])));
  const input = (node: GraphNode): Observable<StreamElement<unknown>> => {
    const stream = streams.get(node.id);
    if (stream === undefined) throw new StreamlineError(`internal: ${node.id} wired before its input`);
    return stream;
  };
  // One loop runs every stage: nested steps' time is subtracted from the step that called them.
  const busyTimer = new StepBusyTimer(options.clock);
  const sourceCount = flow.nodesOf('source').length;
  const ended = new Set<string>();
  options.commits.expectSources(flow.nodesOf('source').every((n) => n.source.splits !== undefined) ? sourceCount : undefined);

  for (const node of flow.graph()) {
    switch (node.kind) {
      case 'source': {
        const reader = node.source.createReader();
        const section = restore.states.get(node.id)?.get('position');
        const position = restore.positions.has(node.id) ? restore.positions.get(node.id) : section ? node.source.positionSerializer.deserialize(section.version, section.bytes) : undefined;
        const splits = node.source.splits;
        const driver = new SourceDriver(reader, {
          taskId: node.id,
          jobName,
          positionSerializer: node.source.positionSerializer,
          ack: options.ack,
          metrics,
          logger,
          clock: options.clock,
          busyTimer,
          onEndOfInput: (id) => {
            ended.add(id);
            if (ended.size === sourceCount) options.onAllInputEnded();
          },
          ...(splits === undefined ? {} : { onPosition: (checkpointId: number, p: unknown) => options.commits.recordPositions(checkpointId, node.id, splits.toSplits(p)) }),
        });
        await reader.open(
          {
            jobName,
            stepId: node.id,
            logger: logger.child({ step: node.id }),
            metrics,
            deadLetters: options.deadLetters,
            signal: options.stopSignal,
            clock: options.clock,
            ...(options.assignment ? { assignment: options.assignment } : {}),
          },
          position,
        );
        sources.push(driver);
        streams.set(node.id, driver.output);
        break;
      }
      case 'operator': {
        let backend: KeyedStateBackend | undefined;
        const sourcePartitioned = options.flow.isSourcePartitioned(node);
        if (node.keySelector !== undefined) {
          backend = options.createKeyedState({ ...keyedStateContextOf(sourcePartitioned, options.keyedStateContext), stepId: node.id });
          keyedState.set(node.id, backend);
          await backend.restore(restore.keyed.get(node.id) ?? []);
        }
        const upstream = input(node.input);
        const { repartition } = options;
        const exchanged = node.keySelector !== undefined && !sourcePartitioned && repartition !== undefined ? repartition(node, upstream) : upstream;
        const stage = new OperatorStage(exchanged, {
          taskId: node.id,
          jobName,
          operator: node.createOperator(),
          keyedState: backend,
          keySelector: node.keySelector,
          stateful: node.stateful || node.keySelector !== undefined,
          restored: restore.states.get(node.id)?.get('operator')?.bytes,
          ack: options.ack,
          metrics,
          logger,
          deadLetters: options.deadLetters,
          clock: options.clock,
          mail: options.mail,
          fail: options.fail,
          busyTimer,
        });
        stage.onUnconsumedSide((tag, records) => unconsumedSide(options, node.id, tag, records, sideConsumers));
        operatorStages.set(node.id, stage);
        streams.set(node.id, stage.output);
        break;
      }
      case 'union':
        streams.set(node.id, new UnionStage(node.inputs.map(input), options.capacity, options.clock, options.onAligned).output);
        break;
      case 'side-output':
        streams.set(node.id, operatorStages.get(node.input.id)!.side(node.tag));
        break;
      case 'sink': {
        const writer = await node.sink.createWriter(options.commits.sinkContext(node.id));
        const committer = await options.commits.committerFor(node);
        const stage = new SinkStage(
          input(node.input),
          node.id,
          jobName,
          writer,
          committer,
          node.sink.committableSerializer,
          options.capacity,
          options.ack,
          metrics,
          logger,
          (id) => options.commits.splitProgress(id),
          options.clock,
        );
        stage.restorePending(restore.states.get(node.id));
        stage.done.catch((error: unknown) => options.fail(error));
        sinks.push(stage);
        break;
      }
    }
  }
  return { sources, operators: [...operatorStages.values()], sinks, keyedState };
}

/** Side records nobody consumes: late records are dead letters (never dropped silently); others are counted. */
function unconsumedSide(options: PipelineBuildOptions, stepId: string, tag: string, records: readonly unknown[], consumers: Set<string>): void {
  if (consumers.has(`${stepId}#${tag}`)) return;
  const jobName = options.flow.name;
  if (tag === 'late') {
    const letters: DeadLetter[] = records.map((r) => ({ reason: 'late_record', detail: `record behind the watermark at step '${stepId}'`, step: stepId, payload: JSON.stringify(r) }));
    options.deadLetters.send(letters);
    options.metrics.deadLetters.inc({ job: jobName, operator: stepId, reason: 'late_record' }, records.length);
  } else {
    options.metrics.recordsOut.inc({ job: jobName, operator: `${stepId}#${tag}` }, records.length);
  }
}

/**
 * A keyed step's share of the state: by key-group range behind a keyed exchange, by the subtask's
 * splits when each key's records stay in their split (`sourcePartitioned`, no exchange).
 */
function keyedStateContextOf(sourcePartitioned: boolean, context: Omit<KeyedStateContext, 'stepId'>): Omit<KeyedStateContext, 'stepId'> {
  const { keyGroupRange, ownedSplits, ...common } = context;
  if (sourcePartitioned) return ownedSplits === undefined ? common : { ...common, ownedSplits };
  return keyGroupRange === undefined ? common : { ...common, keyGroupRange };
}
