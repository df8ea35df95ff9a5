import { baseTaskId } from './task-id.js';
import type { CheckpointStore, CompletedCheckpoint } from '../checkpoint-store.js';
import { JobDefinitionError, RestoreError } from '../../errors.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { SinkNode, SourceNode } from '../graph/graph-node.js';
import type { Logger } from '../logger.js';
import type { Committer } from '../sink.js';
import type { SplitAssignment } from '../split-group.js';
import { checkRestoreAgainstOutput } from './replay-guard.js';
import { restoreSplits } from './split-restore.js';
import { decodeStateEnvelope, type StateSection } from './state-envelope.js';
import type { KeyedStateRestore } from '../state/keyed-state-backend.js';
import { keyedRestoresOf } from './keyed-state-sections.js';

/** Which checkpoint a run starts from. */
export type RestoreSelection = 'latest' | 'none' | number;

/** What a run starts from: state sections per task, source positions, and where they came from. */
export interface RestorePlan {
  /** The checkpoint restored in standby mode (undefined: a fresh start or group mode). */
  readonly checkpoint: CompletedCheckpoint | undefined;
  /**
   * Task id → its restored snapshot sections (sources, sinks, operator state). A checkpoint of a
   * parallel run holds one state per subtask: `<task id>#<subtask>`.
   */
  readonly states: Map<string, Map<string, StateSection>>;
  /** Keyed operator id → what its backend restores from. */
  readonly keyed: Map<string, KeyedStateRestore[]>;
  /** Source task id → position to start from, when it does not come from `states` (group mode). */
  readonly positions: ReadonlyMap<string, unknown>;
  /** Group mode: splits whose state and positions came from the output's last commits. */
  readonly restoredSplits?: readonly string[];
  /** The checkpoint the HA pointer names (standby mode): new checkpoints are numbered above it, so they can be published. */
  readonly pointedCheckpointId?: number;
}

/** The HA store's pointer to a job's latest checkpoint in this run's checkpoint location. */
export interface HaPointerReader {
  /** Where the pointer is kept, for messages (`dynamodb://table`, `file:///…/ha`). */
  readonly uri: string;
  latestCheckpointId(): Promise<number | undefined>;
}

/** What restore planning reads. */
export interface RestorePlannerOptions {
  readonly flow: Dataflow;
  readonly store: CheckpointStore;
  readonly scope: string;
  readonly logger: Logger;
  readonly restoreFrom: RestoreSelection;
  /** The HA pointer, if an HA store is used: its checkpoint is preferred over listing. */
  readonly haPointer?: HaPointerReader;
  /** Group mode: the splits the run owns. */
  readonly assignment?: SplitAssignment;
  /** The committer of a sink, created once per run (restore may need it before the pipeline is wired). */
  readonly committerFor: (node: SinkNode) => Promise<Committer<unknown>>;
}

/**
 * Decides what a run starts from. Standby mode: the HA pointer's checkpoint (or the newest
 * readable one), never behind what a sink's output already holds (replay-guard.ts). Group mode:
 * split by split, from what the output's last commits name (split-restore.ts).
 */
export async function planRestore(options: RestorePlannerOptions): Promise<RestorePlan> {
  if (options.assignment !== undefined) return planSplitRestore(options, options.assignment);
  const pointed = await options.haPointer?.latestCheckpointId();
  if (pointed !== undefined && options.restoreFrom === 'latest') await assertPointedCheckpointStored(options, options.haPointer!, pointed);
  let checkpoint = await selectCheckpoint(options, pointed);
  let states = checkpoint ? await readStates(options, checkpoint) : new Map<string, Map<string, StateSection>>();
  const newer = await checkAgainstOutput(options, checkpoint, states);
  if (newer !== undefined) {
    checkpoint = newer;
    states = await readStates(options, newer);
  }
  const keyed = new Map<string, KeyedStateRestore[]>();
  for (const node of options.flow.nodesOf('operator')) {
    if (node.keySelector === undefined) continue;
    const restores = [...statesOfTask(states, node.id)].flatMap(([, sections]) => keyedRestoresOf(sections, node.id));
    if (restores.length > 0) keyed.set(node.id, restores);
  }
  return { checkpoint, states, keyed, positions: new Map(), ...(pointed !== undefined ? { pointedCheckpointId: pointed } : {}) };
}

/** Every restored state of a step: its own and each subtask's, by qualifier (`''` or `#<subtask>`). */
export function statesOfTask(states: ReadonlyMap<string, Map<string, StateSection>>, stepId: string): Map<string, Map<string, StateSection>> {
  const out = new Map<string, Map<string, StateSection>>();
  for (const [taskId, sections] of states) if (baseTaskId(taskId) === stepId) out.set(taskId.slice(stepId.length), sections);
  return out;
}

/** Where a split source stood, merged over every (subtask's) state of it: split → next position. */
export function mergedSplitPositions(states: ReadonlyMap<string, Map<string, StateSection>>, source: SourceNode): Record<string, number> {
  const splits = source.source.splits;
  const positions: Record<string, number> = {};
  if (splits === undefined) return positions;
  for (const sections of statesOfTask(states, source.id).values()) {
    const section = sections.get('position');
    if (section !== undefined) Object.assign(positions, splits.toSplits(source.source.positionSerializer.deserialize(section.version, section.bytes)));
  }
  return positions;
}

/**
 * Group mode: checks the flow can hand splits over (one source that reads splits, operator
 * state only keyed or resettable, one sink whose output records split progress), claims the
 * splits through that sink's committer and reads their state from the checkpoints its output names.
 */
async function planSplitRestore(options: RestorePlannerOptions, assignment: SplitAssignment): Promise<RestorePlan> {
  const { flow } = options;
  const jobName = flow.name;
  const sources = flow.nodesOf('source');
  const sinks = flow.nodesOf('sink');
  const source = sources[0];
  if (sources.length !== 1 || source === undefined || source.source.splits === undefined || source.source.joinGroup === undefined) {
    throw new JobDefinitionError(`Group mode (SCALE_OUT=group) needs exactly one source whose input is divided into splits (a Kafka topic); job '${jobName}' has ${sources.map((s) => `'${s.id}' (${s.source.kind})`).join(', ') || 'none'}.`);
  }
  for (const node of flow.nodesOf('operator')) {
    const probe = node.createOperator();
    if (probe.snapshot !== undefined && probe.operatorStateInGroupMode !== 'reset') {
      throw new JobDefinitionError(
        `Group mode (SCALE_OUT=group): step '${node.id}' keeps operator state that belongs to no split (e.g. buffered records), so it cannot move with Kafka partitions between instances. Keep such state keyed (after keyBy), or run one instance (SCALE_OUT=standby).`,
      );
    }
  }
  const sink = sinks[0];
  if (sinks.length !== 1 || sink === undefined) {
    throw new JobDefinitionError(`Group mode (SCALE_OUT=group) needs exactly one committing sink, whose output records each split's progress; job '${jobName}' has ${sinks.length}.`);
  }
  const committer = await options.committerFor(sink);
  if (committer.claimSplits === undefined) {
    throw new JobDefinitionError(`Group mode (SCALE_OUT=group): sink '${sink.id}' (${sink.sink.kind}) cannot record source positions with its commits, so splits cannot move between instances exactly once. Use the Iceberg sink, or run one instance (SCALE_OUT=standby).`);
  }
  const committed = await committer.claimSplits(assignment.splits);
  const restored = await restoreSplits({ flow, store: options.store, committed, splitPositions: source.source.splits, logger: options.logger });
  const positions = new Map<string, unknown>();
  if (restored.sourcePosition !== undefined) positions.set(source.id, restored.sourcePosition);
  return { checkpoint: undefined, states: new Map(), keyed: restored.keyed, positions, restoredSplits: restored.restoredSplits };
}

/**
 * The HA pointer names a checkpoint of this location that is not there, nor anything newer: the
 * checkpoints were deleted or moved. Starting from an older one (or none) would read input again
 * that the pointed checkpoint covered, so the run refuses and says how to go on.
 */
async function assertPointedCheckpointStored(options: RestorePlannerOptions, ha: HaPointerReader, pointed: number): Promise<void> {
  const highest = await options.store.highestCheckpointId(options.scope);
  if (highest !== undefined && highest >= pointed) return;
  throw new RestoreError(missingPointedCheckpoint({ ha: ha.uri, scope: options.scope, checkpoints: options.store.uri, pointed, highest }));
}

/**
 * Why a pointer to checkpoint `pointed` that its location does not hold (its newest is `highest`)
 * stops a start, and the ways on; also what `check` says about such a pointer.
 */
export function missingPointedCheckpoint(m: { ha: string; scope: string; checkpoints: string; pointed: number; highest: number | undefined }): string {
  return (
    `The HA store (${m.ha}) names checkpoint ${m.pointed} of job '${m.scope}' as the latest in ${m.checkpoints}, but ` +
    `${m.highest === undefined ? 'there are no checkpoints of the job there' : `the newest there is ${m.highest}`}: they were deleted or moved. ` +
    `Starting from ${m.highest === undefined ? 'nothing' : 'an older one'} would read input again that checkpoint ${m.pointed} had covered. ` +
    `Put the checkpoints back, set CHECKPOINT_URI to where they are now, or start over deliberately with FROM_CHECKPOINT=none ` +
    `(the input is then read again from its start position; new checkpoints are numbered after ${m.pointed}).`
  );
}

async function selectCheckpoint(options: RestorePlannerOptions, pointed: number | undefined): Promise<CompletedCheckpoint | undefined> {
  const { store, restoreFrom, logger, scope } = options;
  if (restoreFrom === 'none') return undefined;
  if (typeof restoreFrom === 'number') return store.load(scope, restoreFrom);
  if (pointed !== undefined) {
    try {
      return await store.load(scope, pointed);
    } catch (error) {
      logger.warn({ checkpoint: pointed, err: (error as Error).message }, 'checkpoint named by the HA pointer is unreadable; falling back to the newest readable one');
    }
  }
  const completed = await store.listCompleted(scope, (id, reason) => logger.warn({ checkpoint: id, reason }, 'skipping unusable checkpoint'));
  return completed[0];
}

async function readStates(options: RestorePlannerOptions, checkpoint: CompletedCheckpoint): Promise<Map<string, Map<string, StateSection>>> {
  const states = new Map<string, Map<string, StateSection>>();
  const known = new Set(options.flow.graph().map((n) => n.id));
  for (const [taskId, handle] of Object.entries(checkpoint.metadata.operators)) {
    if (!known.has(baseTaskId(taskId))) {
      options.logger.warn({ step: taskId, checkpoint: checkpoint.metadata.checkpointId }, 'checkpoint has state for a step this job no longer has; ignoring it');
      continue;
    }
    const bytes = await options.store.readState(options.scope, checkpoint.metadata.checkpointId, handle);
    states.set(taskId, decodeStateEnvelope(bytes, taskId));
  }
  return states;
}

/**
 * Standby mode: the restore point must not be behind what a sink's output already holds (see
 * replay-guard.ts). Returns the newer checkpoint to restore instead, if the output names one;
 * throws RestoreError when restoring would write records twice. Skipped for FROM_CHECKPOINT=none.
 */
async function checkAgainstOutput(
  options: RestorePlannerOptions,
  restored: CompletedCheckpoint | undefined,
  states: Map<string, Map<string, StateSection>>,
): Promise<CompletedCheckpoint | undefined> {
  if (options.restoreFrom === 'none') return undefined;
  const sources = options.flow.nodesOf('source');
  const source = sources[0];
  if (sources.length !== 1 || source?.source.splits === undefined) return undefined;
  const positions = mergedSplitPositions(states, source);
  for (const node of options.flow.nodesOf('sink')) {
    const committed = await (await options.committerFor(node)).committedSplits?.();
    if (committed === undefined || committed.size === 0) continue;
    const verdict = checkRestoreAgainstOutput({
      scope: options.scope,
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
      return options.store.load(options.scope, verdict.checkpointId).catch((error: unknown) => {
        throw new RestoreError(
          `The table already holds checkpoint ${verdict.checkpointId} of ${options.scope}, which cannot be read (${(error as Error).message}); restoring an older one would write its records twice. Make it readable, or start over deliberately with FROM_CHECKPOINT=none.`,
          { cause: error },
        );
      });
    }
  }
  return undefined;
}
