/**
 * Catalog over Amazon S3 Tables. `GetTable` gives the current `metadataLocation`, `versionToken`
 * and `warehouseLocation`; a commit writes the next metadata file under the warehouse location and
 * calls `UpdateTableMetadataLocation` with the token it read, so S3 Tables arbitrates concurrent
 * writers (HTTP 409 ConflictException → CommitConflictError), AWS's own maintenance commits
 * included. GetTable, CreateNamespace, CreateTable and UpdateTableMetadataLocation are used —
 * the subset moto also serves — plus PutTableMaintenanceConfiguration when maintenance settings
 * are given (moto does not serve it: s3-tables-maintenance.ts). Nothing is ever listed under a
 * table's location (S3 Tables forbids ListObjects there). Every call has the process's timeouts
 * and is retried under its one retry policy (src/remote).
 */
import type { S3TablesClientConfig, S3TablesClient } from '@aws-sdk/client-s3tables';
import type { Catalog, LoadedTable, TableDefinition, TableIdentifier } from './catalog.js';
import { formatIdentifier } from './catalog.js';
import { CommitConflictError, IcebergError, NoSuchTableError } from '../errors.js';
import type { FileIO } from './file-io.js';
import { S3FileIO } from './s3-file-io.js';
import { newTableMetadata, type TableMetadata } from './table-metadata.js';
import { readTableMetadataFile, writeTableMetadataFile } from './table-metadata-file.js';
import { putTableMaintenanceConfiguration, type MaintenanceConfigurationOutcome, type S3TablesMaintenanceSettings } from './s3-tables-maintenance.js';
import { awsClientOptions } from '../remote/aws-client-options.js';
import { callWithRetry } from '../remote/call-with-retry.js';
import { httpStatusOf } from '../remote/transient-failure.js';
import { DEFAULT_REMOTE_CALL_SETTINGS, type RemoteCallSettings } from '../remote/remote-call-settings.js';
import { awsS3Tables, isS3TablesNotFound } from '../remote/aws-sdk.js';

export interface S3TablesCatalogOptions {
  /** `arn:aws:s3tables:<region>:<account>:bucket/<name>`. */
  readonly tableBucketArn: string;
  readonly client?: S3TablesClient;
  /** FileIO for the warehouse bucket; default: S3FileIO with an S3 client from the environment (and `clientConfig.region`). */
  readonly fileIO?: FileIO;
  /** Used when `client` is not given (endpoint from AWS_ENDPOINT_URL is picked up by the SDK). */
  readonly clientConfig?: S3TablesClientConfig;
  /** AWS's own maintenance of a table this catalog creates (compaction target, snapshot retention); unset: AWS's defaults. */
  readonly maintenance?: S3TablesMaintenanceSettings;
  /** Hears about what could not be done but does not stop anything (an endpoint without the maintenance API). */
  readonly warn?: (message: string) => void;
  /** Timeouts and retry policy of every call (default: the defaults of src/remote). */
  readonly calls?: RemoteCallSettings;
}

const isConflict = (error: unknown) => error instanceof awsS3Tables().ConflictException || httpStatusOf(error) === 409;

/** An S3 Tables table bucket as an Iceberg catalog. */
export class S3TablesCatalog implements Catalog {
  readonly fileIO: FileIO;
  readonly client: S3TablesClient;
  readonly tableBucketArn: string;
  private readonly maintenance: S3TablesMaintenanceSettings | undefined;
  private readonly warn: (message: string) => void;
  private readonly calls: RemoteCallSettings;

  constructor(options: S3TablesCatalogOptions) {
    this.tableBucketArn = options.tableBucketArn;
    this.maintenance = options.maintenance;
    this.warn = options.warn ?? (() => undefined);
    this.calls = options.calls ?? DEFAULT_REMOTE_CALL_SETTINGS;
    this.client = options.client ?? new (awsS3Tables().S3TablesClient)({ ...awsClientOptions(this.calls.timeouts), ...options.clientConfig });
    // The warehouse bucket is in the table bucket's region.
    const region = options.clientConfig?.region;
    this.fileIO = options.fileIO ?? new S3FileIO({ ...(typeof region === 'string' ? { region } : {}), calls: this.calls });
  }

  /** One S3 Tables request under the retry policy (a conflict or a 404 is not retried: callers decide). */
  private call<T>(action: string, request: (abortSignal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    return callWithRetry({ dependency: 'S3 Tables', action: `${action} in ${this.tableBucketArn}` }, request, { policy: this.calls.retry });
  }

  private async getTable(id: TableIdentifier) {
    try {
      return await this.call(`GetTable ${formatIdentifier(id)}`, (abortSignal) =>
        this.client.send(new (awsS3Tables().GetTableCommand)({ tableBucketARN: this.tableBucketArn, namespace: id.namespace, name: id.name }), { abortSignal }),
      );
    } catch (error) {
      if (isS3TablesNotFound(error)) return undefined;
      throw error;
    }
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable> {
    const table = await this.getTable(id);
    if (!table) throw new NoSuchTableError(`table ${formatIdentifier(id)} does not exist in ${this.tableBucketArn}`);
    if (!table.metadataLocation) throw new NoSuchTableError(`table ${formatIdentifier(id)} exists but has no metadata yet`);
    const metadata = await readTableMetadataFile(this.fileIO, table.metadataLocation);
    return { identifier: id, metadataLocation: table.metadataLocation, metadata, versionToken: table.versionToken! };
  }

  async ensureTable(id: TableIdentifier, definition: TableDefinition): Promise<LoadedTable> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let table = await this.getTable(id);
      if (!table) {
        await this.ignoreConflict(() =>
          this.call(`CreateNamespace ${id.namespace}`, (abortSignal) => this.client.send(new (awsS3Tables().CreateNamespaceCommand)({ tableBucketARN: this.tableBucketArn, namespace: [id.namespace] }), { abortSignal })),
        );
        await this.ignoreConflict(() =>
          this.call(`CreateTable ${formatIdentifier(id)}`, (abortSignal) =>
            this.client.send(new (awsS3Tables().CreateTableCommand)({ tableBucketARN: this.tableBucketArn, namespace: id.namespace, name: id.name, format: 'ICEBERG' }), { abortSignal }),
          ),
        );
        table = await this.getTable(id);
        if (!table) continue;
      }
      if (table.metadataLocation) return this.loadTable(id);
      // A new S3 Tables table has no metadata until a first UpdateTableMetadataLocation sets it.
      const metadata = newTableMetadata({ location: table.warehouseLocation!, ...definition });
      const location = await writeTableMetadataFile(this.fileIO, metadata, undefined);
      try {
        await this.call(`UpdateTableMetadataLocation ${formatIdentifier(id)}`, (abortSignal) =>
          this.client.send(
            new (awsS3Tables().UpdateTableMetadataLocationCommand)({
              tableBucketARN: this.tableBucketArn,
              namespace: id.namespace,
              name: id.name,
              versionToken: table.versionToken,
              metadataLocation: location,
            }),
            { abortSignal },
          ),
        );
      } catch (error) {
        if (!isConflict(error)) throw error; // another writer initialized it first: use theirs
        continue;
      }
      // The writer that initialized the table configures AWS's maintenance of it.
      await this.configureMaintenance(id);
    }
    throw new IcebergError(`could not create or load table ${formatIdentifier(id)}`, { retriable: true });
  }

  async commitTable(base: LoadedTable, metadata: TableMetadata): Promise<LoadedTable> {
    const id = base.identifier;
    const location = await writeTableMetadataFile(this.fileIO, metadata, base.metadataLocation);
    try {
      // A retry whose first attempt landed fails with a conflict (the token moved): the committer's
      // ancestry check then finds its own snapshot and skips it.
      const res = await this.call(`UpdateTableMetadataLocation ${formatIdentifier(id)}`, (abortSignal) =>
        this.client.send(
          new (awsS3Tables().UpdateTableMetadataLocationCommand)({
            tableBucketARN: this.tableBucketArn,
            namespace: id.namespace,
            name: id.name,
            versionToken: base.versionToken,
            metadataLocation: location,
          }),
          { abortSignal },
        ),
      );
      return { identifier: id, metadataLocation: location, metadata, versionToken: res.versionToken! };
    } catch (error) {
      if (isConflict(error)) throw new CommitConflictError(`table ${formatIdentifier(id)} changed since version ${base.versionToken}`, { cause: error });
      throw error;
    }
  }

  /**
   * Sets AWS's maintenance of the table (compaction target size, snapshot retention) as configured;
   * an endpoint without the API (an emulator) only earns a warning. Returns what happened.
   */
  async configureMaintenance(id: TableIdentifier): Promise<MaintenanceConfigurationOutcome | 'not-configured'> {
    if (this.maintenance === undefined) return 'not-configured';
    const outcome = await putTableMaintenanceConfiguration(this.client, this.tableBucketArn, id, this.maintenance);
    if (outcome === 'not-implemented') {
      this.warn(`the S3 Tables endpoint does not implement PutTableMaintenanceConfiguration (an emulator?): ${formatIdentifier(id)} keeps the bucket's default compaction and snapshot retention`);
    }
    return outcome;
  }

  private async ignoreConflict(op: () => Promise<unknown>): Promise<void> {
    try {
      await op();
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}
