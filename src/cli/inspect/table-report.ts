/**
 * The table part of `inspect`: committed rows and files, rows per partition, the age of the last
 * commit, and the newest snapshots with what the sink recorded (checkpoint, fencing token, the
 * source offsets per partition the table holds records up to).
 */
import { formatIdentifier, type TableIdentifier } from '../../iceberg/catalog.js';
import type { DataFile } from '../../iceberg/data-file.js';
import { partitionValueText } from '../../iceberg/partition-display.js';
import { SUMMARY_CHECKPOINT_ID, SUMMARY_CHECKPOINT_SCOPE, SUMMARY_FENCING_TOKEN, SUMMARY_JOB_ID, SUMMARY_SPLITS } from '../../iceberg/snapshot-ancestry.js';
import { partitionSpecById, type Snapshot, type TableMetadata } from '../../iceberg/table-metadata.js';
import { decodeSplitMap } from '../../operators/sinks/iceberg/split-progress-summary.js';
import { formatCheckpointRef } from '../../runtime/checkpoint-ref.js';
import type { TableContents } from './table-contents.js';
import { formatBytes, formatCount, formatDuration, formatTime } from './text-format.js';

/** How many snapshots and split offsets to print. */
export interface TableReportLimits {
  readonly snapshots: number;
  readonly splits: number;
}

export function tableReport(id: TableIdentifier, contents: TableContents, now: number, limits: TableReportLimits = { snapshots: 10, splits: 8 }): string[] {
  const { loaded, files, snapshots } = contents;
  const rows = files.reduce((n, f) => n + f.recordCount, 0);
  const bytes = files.reduce((n, f) => n + f.fileSizeInBytes, 0);
  const lines = [`Table ${formatIdentifier(id)}`, `  metadata:        ${loaded.metadataLocation}`];
  const current = snapshots.find((s) => s['snapshot-id'] === loaded.metadata['current-snapshot-id']);
  if (current === undefined) {
    lines.push('  committed rows:  0 (no snapshot yet: nothing committed)');
    return lines;
  }
  lines.push(`  committed rows:  ${formatCount(rows)} in ${formatCount(files.length)} data file${files.length === 1 ? '' : 's'} (${formatBytes(bytes)})`);
  if (contents.deleteFiles > 0) lines.push(`  delete files:    ${contents.deleteFiles} (written by another engine; the row count above is before deletes)`);
  lines.push(`  last commit:     ${formatDuration(now - current['timestamp-ms'])} ago — snapshot ${current['snapshot-id']}${describeCommit(current)}`);
  lines.push(...partitionLines(loaded.metadata, files));
  lines.push(`  snapshots, newest first${snapshots.length > limits.snapshots ? ` (${limits.snapshots} of ${snapshots.length})` : ''}:`);
  for (const snapshot of snapshots.slice(0, limits.snapshots)) lines.push(...snapshotLines(snapshot, now, limits.splits));
  return lines;
}

/** `, checkpoint orders/7, fencing token 1` from our summary keys, when the snapshot has them. */
function describeCommit(s: Snapshot): string {
  const checkpoint = s.summary[SUMMARY_CHECKPOINT_ID];
  if (checkpoint === undefined) return '';
  const scope = s.summary[SUMMARY_CHECKPOINT_SCOPE] ?? s.summary[SUMMARY_JOB_ID] ?? '?';
  const token = s.summary[SUMMARY_FENCING_TOKEN];
  return `, checkpoint ${formatCheckpointRef({ scope, checkpointId: Number(checkpoint) })}${token === undefined ? '' : `, fencing token ${token}`}`;
}

function partitionLines(metadata: TableMetadata, files: readonly DataFile[]): string[] {
  const groups = new Map<string, { rows: number; files: number }>();
  let specFields = '';
  for (const file of files) {
    const spec = partitionSpecById(metadata, file.specId);
    if (spec.fields.length === 0) continue;
    specFields = spec.fields.map((f) => f.name).join(', ');
    const key = spec.fields.map((f) => `${f.name}=${partitionValueText(file.partition[f.name] ?? null, f.transform)}`).join(', ');
    const group = groups.get(key) ?? { rows: 0, files: 0 };
    group.rows += file.recordCount;
    group.files += 1;
    groups.set(key, group);
  }
  if (groups.size === 0) return ['  partitions:      none (unpartitioned table)'];
  const width = Math.max(...[...groups.keys()].map((k) => k.length));
  return [
    `  rows per partition (${specFields}):`,
    ...[...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, g]) => `    ${key.padEnd(width)}  ${formatCount(g.rows).padStart(12)} rows in ${g.files} file${g.files === 1 ? '' : 's'}`),
  ];
}

function snapshotLines(s: Snapshot, now: number, maxSplits: number): string[] {
  const added = s.summary['added-records'];
  const addedFiles = s.summary['added-data-files'];
  const change = added === undefined ? '' : `  +${formatCount(Number(added))} rows${addedFiles === undefined ? '' : `, +${addedFiles} files`}`;
  const lines = [`    ${s['snapshot-id']}  ${formatTime(s['timestamp-ms'], now)}  ${s.summary.operation}${change}${describeCommit(s)}`];
  const splits = s.summary[SUMMARY_SPLITS];
  if (splits !== undefined) {
    try {
      const entries = [...decodeSplitMap(splits)].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
      const shown = entries.slice(0, maxSplits).map(([split, c]) => `${split}=${c.position}`);
      lines.push(`      offsets held: ${shown.join(', ')}${entries.length > maxSplits ? `, … (${entries.length - maxSplits} more)` : ''}`);
    } catch (error) {
      lines.push(`      offsets held: unreadable (${(error as Error).message})`);
    }
  }
  return lines;
}
