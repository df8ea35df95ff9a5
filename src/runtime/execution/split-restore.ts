/**
 * Group mode restores split by split, from what the job's output holds: for every split the run
 * now owns, the committer names the position up to which the output has its records and the
 * checkpoint (of whichever instance committed it) whose state matches that position. The state
 * of those splits is cut out of those checkpoints; the source starts at those positions. The
 * output is the single source of truth, so no coordination between instances is needed — and a
 * checkpoint that completed but was never committed is simply not used (its records are read
 * again, and its staged files stay unreferenced).
 */
import type { CheckpointStore } from '../checkpoint-store.js';
import { RestoreError } from '../../errors.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { Logger } from '../logger.js';
import { formatCheckpointRef, type CheckpointRef } from '../checkpoint-ref.js';
import type { CommittedSplit } from '../sink.js';
import type { SplitPositions } from '../source.js';
import type { KeyedStateRestore } from '../state/keyed-state-backend.js';
import { keyedRestoresOf } from './keyed-state-sections.js';
import { decodeStateEnvelope } from './state-envelope.js';
import { baseTaskId } from './task-id.js';

/** What a group-mode run starts from. */
export interface SplitRestore {
  /** Keyed operator id → what to restore its backend from: the state of the splits this run owns, from each checkpoint that has some. */
  readonly keyed: Map<string, KeyedStateRestore[]>;
  /** Source position built from the committed positions; undefined when no split was ever committed. */
  readonly sourcePosition: unknown;
  /** Splits that had committed progress (the others start where the source's start setting says). */
  readonly restoredSplits: readonly string[];
  /** Checkpoints whose state was used. */
  readonly checkpoints: readonly CheckpointRef[];
}

/**
 * Reads the state of `committed` splits from their checkpoints. Keyed operators get the sections
 * of their splits; keys of no split and operator (non-keyed) state are not restored in group mode.
 */
export async function restoreSplits(options: {
  readonly flow: Dataflow;
  readonly store: CheckpointStore;
  readonly committed: ReadonlyMap<string, CommittedSplit>;
  readonly splitPositions: SplitPositions<unknown>;
  readonly logger: Logger;
}): Promise<SplitRestore> {
  const { flow, store, committed, logger } = options;
  const keyedTasks = new Set(flow.graph().flatMap((n) => (n.kind === 'operator' && n.keySelector !== undefined ? [n.id] : [])));
  const byCheckpoint = new Map<string, { ref: CheckpointRef; splits: string[] }>();
  const positions: Record<string, number> = {};
  for (const [split, { position, checkpoint }] of committed) {
    positions[split] = position;
    const key = formatCheckpointRef(checkpoint);
    const entry = byCheckpoint.get(key) ?? { ref: checkpoint, splits: [] };
    entry.splits.push(split);
    byCheckpoint.set(key, entry);
  }

  const keyed = new Map<string, KeyedStateRestore[]>();
  for (const { ref, splits } of byCheckpoint.values()) {
    let checkpoint;
    try {
      checkpoint = await store.load(ref.scope, ref.checkpointId);
    } catch (error) {
      throw new RestoreError(
        `The output's last commit for ${splits.join(', ')} names checkpoint ${formatCheckpointRef(ref)} in ${store.uri}, which cannot be read: ${(error as Error).message}. ` +
          'Every instance of a job in group mode must use the same CHECKPOINT_URI, and retention keeps the checkpoints the output names.',
        { cause: error },
      );
    }
    // A parallel instance's checkpoint holds one state per subtask (`<step>#<k>`): the splits' keys are in all of them.
    for (const [taskId, handle] of Object.entries(checkpoint.metadata.operators)) {
      const stepId = baseTaskId(taskId);
      if (!keyedTasks.has(stepId)) continue;
      const sections = decodeStateEnvelope(await store.readState(ref.scope, ref.checkpointId, handle), taskId);
      const restores = keyedRestoresOf(sections, taskId, splits);
      if (restores.length > 0) keyed.set(stepId, [...(keyed.get(stepId) ?? []), ...restores]);
    }
    logger.info({ checkpoint: formatCheckpointRef(ref), splits }, 'restoring splits from the checkpoint the output names');
  }
  const restoredSplits = [...committed.keys()];
  return {
    keyed,
    sourcePosition: restoredSplits.length === 0 ? undefined : options.splitPositions.fromSplits(positions),
    restoredSplits,
    checkpoints: [...byCheckpoint.values()].map((c) => c.ref),
  };
}
