/**
 * The maintenance AWS runs on an S3 Tables table by itself — compaction, snapshot expiry (and
 * unreferenced-file removal, configured per bucket) — set per table through
 * `PutTableMaintenanceConfiguration`: the compaction target file size and the snapshot retention.
 * S3 emulators may not implement the call (moto does not: it answers 404 with an HTML page); that
 * answer, and only that one, is reported as `not-implemented` instead of thrown.
 */
import type { S3TablesClient, PutTableMaintenanceConfigurationCommand } from '@aws-sdk/client-s3tables';
import type { TableIdentifier } from './catalog.js';
import { awsS3Tables } from '../remote/aws-sdk.js';

/** What AWS's own maintenance of a table should do. */
export interface S3TablesMaintenanceSettings {
  /** Target size of the files compaction writes, MB (S3 Tables accepts 64 to 512). */
  readonly compactionTargetFileSizeMb: number;
  /** Snapshots always kept. */
  readonly minSnapshotsToKeep: number;
  /** Snapshots older than this (and beyond the minimum count) expire, hours. */
  readonly maxSnapshotAgeHours: number;
}

/** `applied`, or `not-implemented` when the endpoint does not know the call (an emulator). */
export type MaintenanceConfigurationOutcome = 'applied' | 'not-implemented';

/** How long one call may take. */
const CALL_TIMEOUT_MS = 30_000;

/**
 * The answer of an endpoint that does not implement the operation: HTTP 404, 405 or 501 whose
 * body is not an S3 Tables error (the SDK could not parse it as one). A real `NotFoundException`
 * (no such table) is a modeled error and is not this.
 */
export function isOperationNotImplemented(error: unknown): boolean {
  if (error instanceof awsS3Tables().S3TablesServiceException) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 404 || status === 405 || status === 501;
}

/** Sets the table's compaction and snapshot-management configuration (both enabled). */
export async function putTableMaintenanceConfiguration(
  client: S3TablesClient,
  tableBucketArn: string,
  id: TableIdentifier,
  settings: S3TablesMaintenanceSettings,
): Promise<MaintenanceConfigurationOutcome> {
  const put = (command: PutTableMaintenanceConfigurationCommand) => client.send(command, { abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  const table = { tableBucketARN: tableBucketArn, namespace: id.namespace, name: id.name };
  try {
    await put(
      new (awsS3Tables().PutTableMaintenanceConfigurationCommand)({
        ...table,
        type: 'icebergCompaction',
        value: { status: 'enabled', settings: { icebergCompaction: { targetFileSizeMB: settings.compactionTargetFileSizeMb } } },
      }),
    );
    await put(
      new (awsS3Tables().PutTableMaintenanceConfigurationCommand)({
        ...table,
        type: 'icebergSnapshotManagement',
        value: {
          status: 'enabled',
          settings: { icebergSnapshotManagement: { minSnapshotsToKeep: settings.minSnapshotsToKeep, maxSnapshotAgeHours: settings.maxSnapshotAgeHours } },
        },
      }),
    );
    return 'applied';
  } catch (error) {
    if (isOperationNotImplemented(error)) return 'not-implemented';
    throw error;
  }
}
