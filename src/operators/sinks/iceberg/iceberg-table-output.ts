import { parquetWorkersSetting } from '../../../iceberg/parquet-worker-host.js';
import type { PartitionSpec, Schema } from '../../../iceberg/schema.js';
import type { JobEnvironment } from '../../../runtime/job.js';
import { intSetting } from '../../../runtime/int-setting.js';
import { catalogSetting, createCatalog } from './catalog-from-settings.js';
import { icebergSink, type IcebergSink } from './iceberg-sink.js';
import { s3TablesMaintenanceSettings, tableMaintenanceSettings } from './table-maintenance-settings.js';
import { remoteCallSettings } from '../../../remote/remote-call-settings.js';

/** Least write buffer a subtask gets, however many share the process's: one row group's worth. */
const MIN_WRITE_BUFFER_SHARE = 8 * 1024 * 1024;

/** A job's output table. */
export interface IcebergTableOutputSpec<T> {
  /** Table name in the namespace (`TABLE_NAMESPACE`, default `sink`). */
  readonly name: string;
  readonly schema: Schema;
  readonly partitionSpec?: PartitionSpec;
  /** Default 128 MiB; `TARGET_FILE_SIZE_BYTES` overrides. */
  readonly targetFileSizeBytes?: number;
  /** Default 64 MiB; `WRITE_BUFFER_BYTES` overrides. For the whole process: parallel subtasks share it. */
  readonly writeBufferBytes?: number;
  readonly toRow?: (record: T) => unknown;
}

/**
 * The write buffer and Parquet workers of one sink writer. WRITE_BUFFER_BYTES and PARQUET_WORKERS
 * are budgets of the whole process: each of N parallel subtasks (a writer of its own) gets an Nth
 * of the buffer, at least 8 MiB; the workers are the process's, shared by its subtasks
 * (ParquetWorkerHost), so a writer asks for them all.
 */
export function writerBudget(env: Pick<JobEnvironment, 'settings' | 'subtask'>, spec: Pick<IcebergTableOutputSpec<unknown>, 'writeBufferBytes'>): { writeBufferBytes: number; parquetWorkers: number } {
  const share = env.subtask?.parallelism ?? 1;
  const processBuffer = intSetting(env.settings, 'WRITE_BUFFER_BYTES', spec.writeBufferBytes ?? 64 * 1024 * 1024, 1024 * 1024);
  const parquetWorkers = parquetWorkersSetting(env.settings);
  if (share === 1) return { writeBufferBytes: processBuffer, parquetWorkers };
  return { writeBufferBytes: Math.max(Math.min(processBuffer, MIN_WRITE_BUFFER_SHARE), Math.floor(processBuffer / share)), parquetWorkers };
}

/**
 * The job's Iceberg table: in the S3 Tables bucket of `TABLE_BUCKET_ARN`, or in the local
 * warehouse (embedded default). Settings (MAINTAIN_* included) are validated here, at start.
 */
export function icebergTableOutput<T>(env: JobEnvironment, spec: IcebergTableOutputSpec<T>): IcebergSink<T> {
  const setting = catalogSetting(env.settings, env.workDir);
  const target = intSetting(env.settings, 'TARGET_FILE_SIZE_BYTES', spec.targetFileSizeBytes ?? 128 * 1024 * 1024, 1024);
  const { writeBufferBytes: writeBuffer, parquetWorkers: workers } = writerBudget(env, spec);
  const maintenance = tableMaintenanceSettings(env.settings, target, setting.kind === 's3tables');
  const extras = { calls: remoteCallSettings(env.settings), maintenance: s3TablesMaintenanceSettings(maintenance), warn: (message: string) => env.logger.warn({ table: spec.name }, message) };
  let catalog: ReturnType<typeof createCatalog> | undefined;
  return icebergSink<T>({
    catalog: () => (catalog ??= createCatalog(setting, extras)),
    catalogInfo: setting.kind === 's3tables' ? { description: `S3 Tables ${setting.tableBucketArn}`, region: setting.region } : { description: `local warehouse ${setting.warehouse}` },
    maintenance,
    table: { namespace: env.settings.TABLE_NAMESPACE ?? 'sink', name: spec.name },
    schema: spec.schema,
    ...(spec.partitionSpec ? { partitionSpec: spec.partitionSpec } : {}),
    targetFileSizeBytes: target,
    writeBufferBytes: writeBuffer,
    parquetWorkers: workers,
    ...(spec.toRow ? { toRow: spec.toRow } : {}),
  });
}
