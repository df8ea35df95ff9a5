/**
 * Standby mode restores its own newest checkpoint — but the job's output may already hold more
 * than that checkpoint: its newest `_metadata` was damaged and skipped, an older id was asked
 * for, the checkpoint folder was replaced, or the job ran in group mode meanwhile. Restoring then
 * would read records again that the output already has: duplicates. The output's commits record
 * each split's position, so this is decidable: a restore must start at or beyond every position
 * the output holds. When the output names a newer checkpoint of this scope, that one is the
 * right restore point; otherwise the job refuses to start and says why.
 */
import { formatCheckpointRef } from '../checkpoint-ref.js';
import type { CommittedSplit } from '../sink.js';

/** What to do with the restore point chosen from the checkpoints. */
export type ReplayVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'use-newer'; readonly checkpointId: number; readonly splits: readonly string[] }
  | { readonly kind: 'refuse'; readonly message: string };

/**
 * Compares the chosen restore point (`restored`: its id and source positions per split, or
 * undefined for a fresh start) with what the output holds (`committed`).
 */
export function checkRestoreAgainstOutput(options: {
  readonly scope: string;
  readonly restored: { readonly checkpointId: number; readonly positions: Readonly<Record<string, number>> } | undefined;
  readonly committed: ReadonlyMap<string, CommittedSplit>;
  /** The restore point was asked for explicitly (FROM_CHECKPOINT=<id>), not chosen as the newest. */
  readonly explicit: boolean;
}): ReplayVerdict {
  const { scope, restored, committed } = options;
  const behind = [...committed].filter(([split, entry]) => (restored?.positions[split] ?? -1) < entry.position);
  if (behind.length === 0) return { kind: 'ok' };
  const splits = behind.map(([split]) => split);
  const named = new Set(behind.map(([, entry]) => formatCheckpointRef(entry.checkpoint)));
  const newest = behind[0]![1].checkpoint;
  const what = `${restored === undefined ? 'starting without a checkpoint' : `checkpoint ${restored.checkpointId}`} would read again records the table already holds (${behind
    .slice(0, 3)
    .map(([split, entry]) => `${split} up to offset ${entry.position}`)
    .join(', ')}${behind.length > 3 ? ', …' : ''}), writing them twice`;
  if (!options.explicit && named.size === 1 && newest.scope === scope && (restored === undefined || newest.checkpointId > restored.checkpointId)) {
    return { kind: 'use-newer', checkpointId: newest.checkpointId, splits };
  }
  const fromGroup = [...named].some((ref) => !ref.startsWith(`${scope}/`));
  return {
    kind: 'refuse',
    message:
      `Refusing to restore: ${what}. The table's last commits name checkpoint ${[...named].join(', ')}. ` +
      (fromGroup
        ? 'They come from instances in group mode: run with SCALE_OUT=group, which continues each partition from what the table names.'
        : `Make that checkpoint readable in the checkpoint store, restore it (FROM_CHECKPOINT=latest or its id), or start over deliberately with FROM_CHECKPOINT=none (the table then gets those records again).`),
  };
}
