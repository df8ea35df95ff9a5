/**
 * Reads the current snapshot's ancestry and the summary properties a committing sink records, so
 * a restarted sink can tell which checkpoints a table already holds (idempotent re-commit) and
 * refuse commits from a fenced instance.
 */
import type { Snapshot, TableMetadata } from './table-metadata.js';

/** Summary keys written by the streamline Iceberg sink. */
export const SUMMARY_JOB_ID = 'streamline.job-id';
export const SUMMARY_OPERATOR_ID = 'streamline.operator-id';
export const SUMMARY_CHECKPOINT_ID = 'streamline.checkpoint-id';
export const SUMMARY_FENCING_TOKEN = 'streamline.fencing-token';
/** Where the committing job's checkpoints live (its checkpoint ids are unique only within it). */
export const SUMMARY_CHECKPOINT_SCOPE = 'streamline.checkpoint-scope';
/** Per source split, the position the table holds records up to and the checkpoint matching it. */
export const SUMMARY_SPLITS = 'streamline.splits';

/** Current snapshot first, then parents, until a parent is missing (expired) or none. */
export function* snapshotAncestry(metadata: TableMetadata): Generator<Snapshot> {
  const byId = new Map(metadata.snapshots.map((s) => [s['snapshot-id'], s]));
  const seen = new Set<bigint>();
  let id = metadata['current-snapshot-id'];
  while (id !== undefined && !seen.has(id)) {
    seen.add(id);
    const snapshot = byId.get(id);
    if (!snapshot) return;
    yield snapshot;
    id = snapshot['parent-snapshot-id'];
  }
}

/** True when `snapshotId` is the current snapshot or one of its ancestors. */
export function isInAncestry(metadata: TableMetadata, snapshotId: bigint): boolean {
  for (const s of snapshotAncestry(metadata)) if (s['snapshot-id'] === snapshotId) return true;
  return false;
}

function committedBy(s: Snapshot, jobId: string, operatorId: string | undefined): boolean {
  return s.summary[SUMMARY_JOB_ID] === jobId && (operatorId === undefined || s.summary[SUMMARY_OPERATOR_ID] === operatorId);
}

function parseInteger(value: string | undefined): bigint | undefined {
  return value !== undefined && /^-?\d+$/.test(value) ? BigInt(value) : undefined;
}

/**
 * Highest `streamline.checkpoint-id` committed by this job's operator in the current ancestry, or
 * undefined. With `scope`, only commits from that checkpoint scope count (commits that name none
 * count for the scope equal to the job id: they predate scopes).
 */
export function maxCommittedCheckpoint(metadata: TableMetadata, jobId: string, operatorId: string, scope?: string): number | undefined {
  let max: bigint | undefined;
  for (const s of snapshotAncestry(metadata)) {
    if (!committedBy(s, jobId, operatorId)) continue;
    if (scope !== undefined && (s.summary[SUMMARY_CHECKPOINT_SCOPE] ?? jobId) !== scope) continue;
    const id = parseInteger(s.summary[SUMMARY_CHECKPOINT_ID]);
    if (id !== undefined && (max === undefined || id > max)) max = id;
  }
  return max === undefined ? undefined : Number(max);
}

/** Highest `streamline.fencing-token` recorded by this job (any operator unless `operatorId` is given), or undefined. */
export function maxFencingToken(metadata: TableMetadata, jobId: string, operatorId?: string): bigint | undefined {
  let max: bigint | undefined;
  for (const s of snapshotAncestry(metadata)) {
    if (!committedBy(s, jobId, operatorId)) continue;
    const token = parseInteger(s.summary[SUMMARY_FENCING_TOKEN]);
    if (token !== undefined && (max === undefined || token > max)) max = token;
  }
  return max;
}

/** The value of `key` in the newest snapshot of the current ancestry committed by this job's operator that has it. */
export function latestSummaryValue(metadata: TableMetadata, jobId: string, operatorId: string, key: string): string | undefined {
  for (const s of snapshotAncestry(metadata)) {
    if (!committedBy(s, jobId, operatorId)) continue;
    const value = s.summary[key];
    if (value !== undefined) return value;
  }
  return undefined;
}
