/**
 * Which checkpoints retention deletes — shared by every store so they prune identically.
 */
import type { CompletedCheckpoint } from '../checkpoint-store.js';
import { ConfigError } from '../../errors.js';

/** Result of looking at every `chk-<id>` of a job, newest first. */
export interface CheckpointScan {
  readonly completed: CompletedCheckpoint[];
  readonly skipped: { checkpointId: number; reason: string }[];
}

/**
 * Ids to delete: completed ones beyond the newest `retain` (except those in `keep`, e.g. named by
 * the output's last commits), and incomplete or corrupt ones older than the newest completed
 * (newer ones may still be in progress, so they stay).
 */
export function planPrune(scan: CheckpointScan, retain: number, keep: ReadonlySet<number> = new Set()): number[] {
  if (!Number.isSafeInteger(retain) || retain < 1) {
    throw new ConfigError('checkpoint retention', `must keep at least 1 completed checkpoint, got ${retain}`);
  }
  const newest = scan.completed[0]?.metadata.checkpointId;
  if (newest === undefined) return [];
  const doomed = scan.completed
    .slice(retain)
    .map((c) => c.metadata.checkpointId)
    .filter((id) => !keep.has(id));
  for (const { checkpointId } of scan.skipped) if (checkpointId < newest) doomed.push(checkpointId);
  return doomed.sort((a, b) => a - b);
}
