/**
 * The `streamline.splits` snapshot-summary property: for every source split (Kafka partition) the
 * job ever committed, the position up to which the table holds its records and the checkpoint
 * whose state matches that position. Every commit carries the whole map (its own splits updated,
 * the others carried over from the snapshot it rebases on), so the current snapshot alone tells
 * where each split stands — also after old snapshots expired — and an instance taking a split
 * over needs nothing but the table to continue it exactly once.
 *
 * Format (version 1), compact because it is repeated in every snapshot of the metadata file:
 * `{"v":1,"checkpoints":["orders.m-1a2b3c/17"],"splits":{"orders:0":[1042,0]}}` — a split maps
 * to `[position, index into checkpoints]`; a checkpoint is `<scope>/<id>`.
 */
import type { TableMetadata } from '../../../iceberg/table-metadata.js';
import { SUMMARY_SPLITS, latestSummaryValue } from '../../../iceberg/snapshot-ancestry.js';
import { CorruptCheckpointError } from '../../../errors.js';
import { formatCheckpointRef, type CheckpointRef } from '../../../runtime/checkpoint-ref.js';
import type { CommittedSplit } from '../../../runtime/sink.js';

/** Split id → what the table holds of it. */
export type SplitMap = ReadonlyMap<string, CommittedSplit>;

/** The table does not say where its splits stand in a form this build understands. */
export class SplitSummaryError extends CorruptCheckpointError {}

interface SplitSummaryDocument {
  readonly v: 1;
  readonly checkpoints: string[];
  readonly splits: Record<string, [number, number]>;
}

/** The split map of the current snapshot ancestry, as committed by this job's operator (empty when none). */
export function readSplitMap(metadata: TableMetadata, jobId: string, operatorId: string): SplitMap {
  const raw = latestSummaryValue(metadata, jobId, operatorId, SUMMARY_SPLITS);
  return raw === undefined ? new Map() : decodeSplitMap(raw);
}

export function encodeSplitMap(map: SplitMap): string {
  const checkpoints: string[] = [];
  const index = new Map<string, number>();
  const splits: Record<string, [number, number]> = {};
  for (const split of [...map.keys()].sort()) {
    const { position, checkpoint } = map.get(split)!;
    const ref = formatCheckpointRef(checkpoint);
    let i = index.get(ref);
    if (i === undefined) {
      i = checkpoints.push(ref) - 1;
      index.set(ref, i);
    }
    splits[split] = [position, i];
  }
  const doc: SplitSummaryDocument = { v: 1, checkpoints, splits };
  return JSON.stringify(doc);
}

export function decodeSplitMap(raw: string): SplitMap {
  let doc: SplitSummaryDocument;
  try {
    doc = JSON.parse(raw) as SplitSummaryDocument;
  } catch (error) {
    throw new SplitSummaryError(`snapshot summary ${SUMMARY_SPLITS} is not JSON: ${(error as Error).message}`);
  }
  if (doc?.v !== 1) throw new SplitSummaryError(`snapshot summary ${SUMMARY_SPLITS} has version ${String(doc?.v)}; this build reads version 1`);
  if (!Array.isArray(doc.checkpoints) || typeof doc.splits !== 'object' || doc.splits === null || Array.isArray(doc.splits)) {
    throw new SplitSummaryError(`snapshot summary ${SUMMARY_SPLITS} has an unexpected shape`);
  }
  const refs = doc.checkpoints.map(parseRef);
  const map = new Map<string, CommittedSplit>();
  for (const [split, entry] of Object.entries(doc.splits)) {
    const [position, i] = Array.isArray(entry) ? entry : [];
    const checkpoint = typeof i === 'number' ? refs[i] : undefined;
    if (!Number.isSafeInteger(position) || (position as number) < 0 || checkpoint === undefined) {
      throw new SplitSummaryError(`snapshot summary ${SUMMARY_SPLITS}: entry of split '${split}' is malformed (${JSON.stringify(entry)})`);
    }
    map.set(split, { position: position as number, checkpoint });
  }
  return map;
}

/** Two entries are the same progress: same position and same checkpoint. */
export function sameProgress(a: CommittedSplit | undefined, b: CommittedSplit | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.position === b.position && a.checkpoint.scope === b.checkpoint.scope && a.checkpoint.checkpointId === b.checkpoint.checkpointId;
}

function parseRef(raw: unknown): CheckpointRef {
  const match = typeof raw === 'string' ? /^(.+)\/(\d{1,15})$/.exec(raw) : null;
  if (match === null) throw new SplitSummaryError(`snapshot summary ${SUMMARY_SPLITS}: checkpoint '${String(raw)}' is not <scope>/<id>`);
  return { scope: match[1]!, checkpointId: Number(match[2]) };
}
