/**
 * How a job's Iceberg table is maintained, from the MAINTAIN_* settings, validated at start. The
 * same numbers configure AWS's own maintenance of an S3 Tables table (compaction target, snapshot
 * retention), set when the job creates the table.
 */
import { ConfigError } from '../../../errors.js';
import type { S3TablesMaintenanceSettings } from '../../../iceberg/s3-tables-maintenance.js';
import { intSetting } from '../../../runtime/int-setting.js';
import { DEFAULT_ORPHAN_MIN_AGE_MS, MIN_ORPHAN_MIN_AGE_MS } from '../../../runtime/maintenance/maintenance-defaults.js';

/** The tasks a maintenance pass can run on a table. */
export type TableMaintenanceTask = 'compact' | 'expire' | 'orphans';

const TASKS: readonly TableMaintenanceTask[] = ['compact', 'expire', 'orphans'];
const MiB = 1024 * 1024;
const HOUR_MS = 3_600_000;

export interface TableMaintenanceSettings {
  readonly tasks: ReadonlySet<TableMaintenanceTask>;
  /** Newest snapshots always kept. */
  readonly snapshotsToKeep: number;
  /** Snapshots older than this (beyond the ones always kept) expire. */
  readonly snapshotMaxAgeMs: number;
  /** Unreferenced files younger than this are never deleted. */
  readonly orphanMinAgeMs: number;
  /** Size compaction writes files at. */
  readonly compactTargetBytes: number;
  /** Small files a partition needs before it is compacted. */
  readonly compactMinFiles: number;
  /** Input bytes one pass compacts at most. */
  readonly compactMaxInputBytes: number;
}

/** Settings names with their flags, for messages. */
const flag = (env: string) => `${env} (--${env.toLowerCase().replaceAll('_', '-')})`;

function parseTasks(raw: string | undefined, s3Tables: boolean): Set<TableMaintenanceTask> {
  // S3 Tables compacts, expires snapshots and removes unreferenced files itself.
  if (raw === undefined || raw.trim() === '') return new Set(s3Tables ? [] : TASKS);
  if (raw.trim() === 'none') return new Set();
  const tasks = new Set<TableMaintenanceTask>();
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    if (!TASKS.includes(part as TableMaintenanceTask)) throw new ConfigError(flag('MAINTAIN_TASKS'), `'${part}' is not a task; use a comma-separated list of ${TASKS.join(', ')}, or none`);
    tasks.add(part as TableMaintenanceTask);
  }
  if (s3Tables && tasks.has('orphans')) {
    throw new ConfigError(flag('MAINTAIN_TASKS'), "'orphans' cannot run on S3 Tables: a table's files cannot be listed there, and S3 Tables removes unreferenced files itself");
  }
  return tasks;
}

/** Reads the MAINTAIN_* settings; `targetFileSizeBytes` is the job's file size, the default compaction target. */
export function tableMaintenanceSettings(settings: Readonly<Record<string, string | undefined>>, targetFileSizeBytes: number, s3Tables: boolean): TableMaintenanceSettings {
  return {
    tasks: parseTasks(settings.MAINTAIN_TASKS, s3Tables),
    snapshotsToKeep: intSetting(settings, 'MAINTAIN_SNAPSHOTS_KEEP', 100, 1),
    snapshotMaxAgeMs: intSetting(settings, 'MAINTAIN_SNAPSHOT_MAX_AGE_MS', 6 * HOUR_MS, 0),
    orphanMinAgeMs: intSetting(settings, 'MAINTAIN_ORPHAN_MIN_AGE_MS', DEFAULT_ORPHAN_MIN_AGE_MS, MIN_ORPHAN_MIN_AGE_MS),
    compactTargetBytes: intSetting(settings, 'MAINTAIN_COMPACT_TARGET_BYTES', targetFileSizeBytes, 1024),
    compactMinFiles: intSetting(settings, 'MAINTAIN_COMPACT_MIN_FILES', 5, 2),
    compactMaxInputBytes: intSetting(settings, 'MAINTAIN_COMPACT_MAX_BYTES', 1024 * MiB, 1),
  };
}

/**
 * AWS's maintenance of an S3 Tables table with the same numbers: the compaction target in MB
 * within what S3 Tables accepts (64 to 512), the snapshot age in whole hours (at least 1).
 */
export function s3TablesMaintenanceSettings(settings: TableMaintenanceSettings): S3TablesMaintenanceSettings {
  return {
    compactionTargetFileSizeMb: Math.min(512, Math.max(64, Math.round(settings.compactTargetBytes / MiB))),
    minSnapshotsToKeep: settings.snapshotsToKeep,
    maxSnapshotAgeHours: Math.max(1, Math.ceil(settings.snapshotMaxAgeMs / HOUR_MS)),
  };
}
