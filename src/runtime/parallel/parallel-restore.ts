/**
 * Restoring across parallelism: a checkpoint of a parallel run holds one state per subtask
 * (`<task>#<subtask>`). Source positions are divided by split, keyed state by key group or, for a
 * source-partitioned step, by split (its files hold blocks per split and key group), so any number
 * of subtasks can take it over: each gets the positions of its splits and the keyed state of its
 * key-group range or splits, whichever subtasks held them before.
 */
import { JobDefinitionError } from '../../errors.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { SourceNode } from '../graph/graph-node.js';
import { keyedRestoresOf } from '../execution/keyed-state-sections.js';
import { decodePendingCommits, encodePendingCommits, mergePendingCommits, PENDING_SECTION } from '../execution/pending-commits.js';
import { mergedSplitPositions, statesOfTask, type RestorePlan } from '../execution/restore-planner.js';
import { baseTaskId } from '../execution/task-id.js';
import type { StateSection } from '../execution/state-envelope.js';
import type { CommitRequest } from '../sink.js';
import type { KeyedStateRestore } from '../state/keyed-state-backend.js';
import { keyGroupRange } from '../state/key-group.js';
import type { SubtaskRestore } from './subtask-protocol.js';

/** True when the plan holds states of subtasks (a parallel run's checkpoint). */
export function hasSubtaskStates(plan: RestorePlan): boolean {
  return [...plan.states.keys()].some((id) => id.includes('#'));
}

/** Every split position of the job's (single) split source, from the plan: split → next position. */
export function restoredSplitPositions(flow: Dataflow, plan: RestorePlan): Record<string, number> {
  const source = splitSource(flow);
  const given = plan.positions.get(source.id);
  return { ...mergedSplitPositions(plan.states, source), ...(given === undefined ? {} : source.source.splits!.toSplits(given)) };
}

/** The sink's pending commits over every (subtask's) state of it, merged per checkpoint. */
export function restoredPendingCommits(flow: Dataflow, plan: RestorePlan, sinkId: string): CommitRequest<unknown>[] {
  const sink = flow.nodesOf('sink').find((n) => n.id === sinkId)!;
  const lists = [...statesOfTask(plan.states, sinkId).values()].map((sections) => decodePendingCommits(sections.get(PENDING_SECTION), sink.sink.committableSerializer, sinkId));
  return mergePendingCommits(lists);
}

/**
 * What each subtask restores, given the splits each one reads now (`subtaskSplits[k]`): the
 * positions of those splits, and the keyed state of its key-group range (see keyedRestoresFor), or
 * of its splits for a source-partitioned step (keyedRestoresBySplit).
 */
export function subtaskRestores(flow: Dataflow, plan: RestorePlan, subtaskSplits: readonly (readonly string[])[]): SubtaskRestore[] {
  const source = splitSource(flow);
  const serializer = source.source.positionSerializer;
  const positions = restoredSplitPositions(flow, plan);
  const previousSplits = new Map<string, string[]>();
  for (const [qualifier, sections] of statesOfTask(plan.states, source.id)) {
    const section = sections.get('position');
    if (section !== undefined) previousSplits.set(qualifier, Object.keys(source.source.splits!.toSplits(serializer.deserialize(section.version, section.bytes))).sort());
  }
  return subtaskSplits.map((splits, index) => {
    const mine = [...splits].sort();
    const own = Object.fromEntries(mine.flatMap((s) => (positions[s] === undefined ? [] : [[s, positions[s]!]])));
    const keyed: Record<string, KeyedStateRestore[]> = {};
    const states: Record<string, StateSection[]> = {};
    for (const node of flow.nodesOf('operator')) {
      if (node.keySelector !== undefined) {
        // One subtask holds every key either way, and then extends the chain it restores.
        const bySplit = flow.isSourcePartitioned(node) && subtaskSplits.length > 1;
        keyed[node.id] = bySplit ? keyedRestoresBySplit(plan, node.id, index, mine) : keyedRestoresFor(plan, node.id, index, subtaskSplits.length);
        continue;
      }
      const previous = [...statesOfTask(plan.states, node.id)].filter(([, s]) => s.has('operator'));
      if (previous.length === 0) continue;
      const same = previous.find(([q]) => sameSplits(previousSplits.get(q), mine));
      if (same !== undefined) states[node.id] = [same[1].get('operator')!];
      else if (node.createOperator().operatorStateInGroupMode !== 'reset') {
        throw new JobDefinitionError(`step '${node.id}' keeps operator state that belongs to no split, so it cannot be divided among ${subtaskSplits.length} subtasks reading other splits than before; run with the parallelism of the checkpoint, or PARALLELISM=1`);
      }
    }
    return {
      states,
      keyed,
      positions: Object.keys(own).length === 0 ? {} : { [source.id]: { version: serializer.version, bytes: serializer.serialize(source.source.splits!.fromSplits(own)) } },
    };
  });
}

/**
 * What subtask `index` of `parallelism` restores for keyed step `stepId`: the keys of its key-group
 * range (records reach it by key through the keyed exchange), out of every chain that can hold
 * some. A chain written for exactly that range (the same subtask of a run with the same
 * parallelism) is then the only input, and the backend extends it instead of rewriting it.
 */
function keyedRestoresFor(plan: RestorePlan, stepId: string, index: number, parallelism: number): KeyedStateRestore[] {
  const range = parallelism > 1 ? keyGroupRange(index, parallelism) : undefined;
  const restores = keyedRestoresOfStep(plan, stepId);
  if (range === undefined) return restores;
  return restores.flatMap((restore): KeyedStateRestore[] => {
    if (restore.kind === 'legacy') return [restore];
    const written = restore.input.chain.keyGroups;
    if (written !== undefined && (written.end < range.start || written.start > range.end)) return [];
    return [{ kind: 'chain', input: { ...restore.input, keyGroups: range } }];
  });
}

/**
 * What subtask `index` restores for source-partitioned keyed step `stepId`: the keys of the splits
 * it reads (its records never leave their split's subtask), out of every chain that can hold some,
 * whichever key groups and subtasks held them before (a chain that records other splits is skipped).
 */
function keyedRestoresBySplit(plan: RestorePlan, stepId: string, index: number, splits: readonly string[]): KeyedStateRestore[] {
  const wanted = ownedSplitsOf(index, splits);
  return keyedRestoresOfStep(plan, stepId).flatMap((restore): KeyedStateRestore[] => {
    if (restore.kind === 'legacy') return wanted.includes(restore.split ?? '') ? [restore] : [];
    // Group mode already limits a chain to the instance's splits: keep this subtask's of those.
    const given = restore.input.splits;
    const mine = given === undefined ? wanted : wanted.filter((s) => given.includes(s));
    const written = restore.input.chain.splits;
    if (mine.length === 0 || (written !== undefined && !written.some((s) => mine.includes(s)))) return [];
    return [{ kind: 'chain', input: { ...restore.input, splits: mine } }];
  });
}

/**
 * The splits whose keys subtask `index` of a source-partitioned step holds: those it reads, and
 * for subtask 0 also `''`, keys written under no split (state of a run whose batches had none).
 */
export function ownedSplitsOf(index: number, splits: readonly string[]): string[] {
  return index === 0 ? [...splits, ''] : [...splits];
}

/** Every restore of keyed step `stepId` in the plan: each subtask's chain, or (group mode) the instance's. */
function keyedRestoresOfStep(plan: RestorePlan, stepId: string): KeyedStateRestore[] {
  const perSubtask = statesOfTask(plan.states, stepId);
  return perSubtask.size === 0 ? [...(plan.keyed.get(stepId) ?? [])] : [...perSubtask.values()].flatMap((sections) => keyedRestoresOf(sections, stepId));
}

/**
 * A parallel run's checkpoint restored by one thread: source positions merged, the sinks'
 * pending commits merged, operator state taken from the one subtask that had any.
 */
export function mergeSubtaskStates(flow: Dataflow, plan: RestorePlan): RestorePlan {
  if (!hasSubtaskStates(plan)) return plan;
  const states = new Map<string, Map<string, StateSection>>();
  const positions = new Map(plan.positions);
  for (const source of flow.nodesOf('source')) {
    if (source.source.splits !== undefined) positions.set(source.id, source.source.splits.fromSplits(mergedSplitPositions(plan.states, source)));
  }
  for (const sink of flow.nodesOf('sink')) {
    states.set(sink.id, new Map([[PENDING_SECTION, encodePendingCommits(restoredPendingCommits(flow, plan, sink.id), sink.sink.committableSerializer)]]));
  }
  for (const node of flow.nodesOf('operator')) {
    const withState = [...statesOfTask(plan.states, node.id).values()].filter((s) => s.has('operator'));
    if (withState.length === 1) states.set(node.id, new Map([['operator', withState[0]!.get('operator')!]]));
    else if (withState.length > 1 && node.createOperator().operatorStateInGroupMode !== 'reset') {
      throw new JobDefinitionError(`step '${node.id}' kept operator state in ${withState.length} subtasks; it belongs to no split and cannot be merged into one. Run with the parallelism of the checkpoint.`);
    }
  }
  for (const [taskId, sections] of plan.states) if (!taskId.includes('#') && !states.has(baseTaskId(taskId))) states.set(taskId, sections);
  return { ...plan, states, positions };
}

function splitSource(flow: Dataflow): SourceNode {
  const source = flow.nodesOf('source')[0];
  if (source === undefined || source.source.splits === undefined) throw new JobDefinitionError(`job '${flow.name}' has no source divided into splits`);
  return source;
}

function sameSplits(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((s, i) => s === b[i]);
}
