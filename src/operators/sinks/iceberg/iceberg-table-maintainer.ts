import type { DataFile } from '../../../iceberg/data-file.js';
import { fileListerOf } from '../../../iceberg/file-io.js';
import { expireSnapshots } from '../../../iceberg/maintenance/expire-snapshots.js';
import { removeOrphanFiles } from '../../../iceberg/maintenance/remove-orphan-files.js';
import { S3TablesCatalog } from '../../../iceberg/s3-tables-catalog.js';
import { SUMMARY_JOB_ID, SUMMARY_OPERATOR_ID } from '../../../iceberg/snapshot-ancestry.js';
import type { Snapshot } from '../../../iceberg/table-metadata.js';
import { NoSuchTableError } from '../../../errors.js';
import type { MaintenanceContext, OutputMaintainer, OutputMaintenanceReport } from '../../../runtime/output-maintenance.js';
import type { IcebergSinkOptions } from './iceberg-sink-options.js';
import { readSplitMap } from './split-progress-summary.js';
import { tableMaintenanceSettings, type TableMaintenanceTask } from './table-maintenance-settings.js';

const DEFAULT_TARGET_FILE_SIZE_BYTES = 128 * 1024 * 1024;

/**
 * Maintenance of the sink's table, in this order: compaction (a `replace` snapshot), snapshot
 * expiry (deleting what only expired snapshots referenced), orphan files (local warehouse only:
 * S3 Tables cannot be listed). Files of pending commits are never rewritten nor deleted. Expiry
 * keeps every snapshot from the current one back to this sink's newest commit, whose summary
 * (checkpoint id, fencing token, split progress) restores and group mode read through the
 * ancestry; the maintenance snapshots after it carry no streamline summary and are looked
 * through. On S3 Tables each pass also (re)applies AWS's maintenance configuration of the table.
 */
export async function createIcebergTableMaintainer<T>(options: IcebergSinkOptions<T>, ctx: MaintenanceContext): Promise<OutputMaintainer<DataFile>> {
  const catalog = options.catalog();
  const id = options.table;
  const output = `${id.namespace}.${id.name}`;
  const settings = options.maintenance ?? tableMaintenanceSettings({}, options.targetFileSizeBytes ?? DEFAULT_TARGET_FILE_SIZE_BYTES, catalog instanceof S3TablesCatalog);
  const s3Tables = catalog instanceof S3TablesCatalog;
  const committedHere = (s: Snapshot) => s.summary[SUMMARY_JOB_ID] === ctx.jobName && s.summary[SUMMARY_OPERATOR_ID] === ctx.stepId;

  return {
    async namedCheckpoints() {
      try {
        return [...readSplitMap((await catalog.loadTable(id)).metadata, ctx.jobName, ctx.stepId).values()].map((entry) => entry.checkpoint);
      } catch (error) {
        if (error instanceof NoSuchTableError) return [];
        throw error;
      }
    },

    async maintain(inUse): Promise<OutputMaintenanceReport> {
      const counts: Record<string, number> = {};
      const notes: string[] = [];
      const failures: string[] = [];
      try {
        await catalog.loadTable(id);
      } catch (error) {
        if (!(error instanceof NoSuchTableError)) throw error;
        return { output, counts, notes: ['the table does not exist yet: nothing to maintain'], failures };
      }
      if (catalog instanceof S3TablesCatalog) {
        const outcome = await catalog.configureMaintenance(id).catch((error: unknown) => {
          failures.push(`maintenance configuration: ${(error as Error).message}`);
          return undefined;
        });
        if (outcome === 'applied') notes.push("AWS's maintenance configuration of the table is set (compaction target, snapshot retention)");
        if (outcome === 'not-implemented') notes.push('the S3 Tables endpoint does not implement PutTableMaintenanceConfiguration; the table keeps the bucket defaults');
        if (settings.tasks.size === 0) notes.push('S3 Tables compacts, expires snapshots and removes unreferenced files itself (MAINTAIN_TASKS selects tasks to run here as well)');
      }
      const pending = new Set(inUse.map((f) => f.filePath));
      counts['pending-files'] = pending.size;
      const task = async (name: TableMaintenanceTask, body: () => Promise<void>) => {
        if (!settings.tasks.has(name)) return;
        try {
          await body();
        } catch (error) {
          failures.push(`${name}: ${(error as Error).message}`);
          ctx.logger.warn({ table: output, task: name, err: (error as Error).message }, 'maintenance task failed; the others still run');
        }
      };
      await task('compact', async () => {
        // Compaction reads and writes Parquet (Apache Arrow, hyparquet): loaded when a compaction runs.
        const { compactDataFiles } = await import('../../../iceberg/maintenance/compact-data-files.js');
        const result = await compactDataFiles(catalog, id, {
          targetFileSizeBytes: settings.compactTargetBytes,
          minInputFiles: settings.compactMinFiles,
          maxInputBytes: settings.compactMaxInputBytes,
          excludedFiles: pending,
          ...(options.writeBufferBytes ? { writeBufferBytes: options.writeBufferBytes } : {}),
          ...(options.parquetWorkers ? { parquetWorkers: options.parquetWorkers } : {}),
          summary: { 'streamline.maintenance': 'compaction', 'streamline.maintained-by': ctx.jobName },
        });
        counts['compacted-partitions'] = result.partitions;
        counts['compacted-files'] = result.rewrittenFiles.length;
        counts['compacted-into-files'] = result.addedFiles.length;
        if (result.skipped !== undefined) notes.push(`compaction: ${result.skipped}`);
      });
      await task('expire', async () => {
        const result = await expireSnapshots(catalog, id, {
          retainLast: settings.snapshotsToKeep,
          maxSnapshotAgeMs: settings.snapshotMaxAgeMs,
          nowMs: ctx.clock.now(),
          keepAncestryUntil: [committedHere],
          protectedFiles: pending,
          deleteUnreferencedFiles: !s3Tables,
        });
        if (s3Tables) notes.push('expiry: S3 Tables removes the files of expired snapshots itself (its unreferenced-file removal)');
        counts['expired-snapshots'] = result.expiredSnapshots.length;
        counts['deleted-data-files'] = result.deletedDataFiles.length;
        counts['deleted-manifests'] = result.deletedManifests.length + result.deletedManifestLists.length;
        if (result.keptProtected.length > 0) notes.push(`expiry kept ${result.keptProtected.length} unreferenced file(s) of pending commits`);
        if (result.failedDeletes.length > 0) notes.push(`expiry could not delete ${result.failedDeletes.length} file(s) (left as orphans), e.g. ${result.failedDeletes[0]!.location}: ${result.failedDeletes[0]!.error}`);
      });
      await task('orphans', async () => {
        if (fileListerOf(catalog.fileIO) === undefined) {
          notes.push('orphan files: the table location cannot be listed (S3 Tables removes unreferenced files itself)');
          return;
        }
        const result = await removeOrphanFiles(catalog, id, { olderThanMs: ctx.clock.now() - settings.orphanMinAgeMs, protectedFiles: pending });
        counts['deleted-orphan-files'] = result.deleted.length;
        if (result.keptProtected.length > 0) notes.push(`orphan removal kept ${result.keptProtected.length} file(s) of pending commits`);
        if (result.failedDeletes.length > 0) notes.push(`orphan removal could not delete ${result.failedDeletes.length} file(s), e.g. ${result.failedDeletes[0]!.location}`);
      });
      ctx.logger.info({ table: output, ...counts, notes, failures }, 'table maintenance pass done');
      return { output, counts, notes, failures };
    },

    async close() {},
  };
}
