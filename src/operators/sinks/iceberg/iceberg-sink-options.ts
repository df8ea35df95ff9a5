import type { Catalog, TableIdentifier } from '../../../iceberg/catalog.js';
import type { PartitionSpec, Schema } from '../../../iceberg/schema.js';
import type { TableMaintenanceSettings } from './table-maintenance-settings.js';

/** How a job writes one Iceberg table. */
export interface IcebergSinkOptions<T> {
  /** Created lazily in the writer/committer so configuration errors surface at start. */
  readonly catalog: () => Catalog;
  /** How the web console and the exit summary name the catalog (e.g. `local warehouse /data/warehouse`) and, in AWS, its region. */
  readonly catalogInfo?: { readonly description: string; readonly region?: string };
  readonly table: TableIdentifier;
  /** Schema and partition spec used when the table has to be created. */
  readonly schema: Schema;
  readonly partitionSpec?: PartitionSpec;
  /** Roll data files at about this many Parquet bytes (default 128 MiB). Files always close at a checkpoint. */
  readonly targetFileSizeBytes?: number;
  /** Memory budget of rows buffered for data files, over all open files (default 64 MiB); independent of the file size. */
  readonly writeBufferBytes?: number;
  /** Worker threads encoding and uploading Parquet (default: one per core but one, at most 4). */
  readonly parquetWorkers?: number;
  /** Table properties set at creation. */
  readonly properties?: Readonly<Record<string, string>>;
  /** Maps a record to the table row; default: the record itself. */
  readonly toRow?: (record: T) => unknown;
  /** Commit attempts on optimistic-concurrency conflicts before the commit fails (and stays pending). Default 10. */
  readonly maxCommitAttempts?: number;
  /** How `maintain` and MAINTAIN_INTERVAL_MS maintain the table (default: the MAINTAIN_* defaults). */
  readonly maintenance?: TableMaintenanceSettings;
}
