import type { TableIdentifier } from '../../../iceberg/catalog.js';
import type { DataFile } from '../../../iceberg/data-file.js';
import type { PartitionSpec, Schema } from '../../../iceberg/schema.js';
import { dataFileFromJson, dataFileToJson, type DataFileJson } from '../../../iceberg/data-file-json.js';
import type { VersionedSerializer } from '../../../runtime/serializer.js';
import type { TwoPhaseCommitSink } from '../../../runtime/sink.js';
import { createIcebergCommitter } from './iceberg-committer.js';
import type { IcebergSinkOptions } from './iceberg-sink-options.js';
import { createIcebergTableMaintainer } from './iceberg-table-maintainer.js';

/** Data files in checkpoints: the JSON form of the table-format library, version 1. */
const dataFileSerializer: VersionedSerializer<DataFile> = {
  version: 1,
  serialize: (file) => new TextEncoder().encode(JSON.stringify(dataFileToJson(file))),
  deserialize: (version, bytes) => {
    if (version !== 1) throw new Error(`unsupported data-file committable version ${version} (this build reads 1)`);
    return dataFileFromJson(JSON.parse(new TextDecoder().decode(bytes)) as DataFileJson);
  },
};

/** The table an Iceberg sink writes, as declared: what `check` and `inspect` look at. */
export interface IcebergSinkTarget {
  readonly table: TableIdentifier;
  readonly schema: Schema;
  readonly partitionSpec?: PartitionSpec;
}

/** An Iceberg sink: a two-phase-commit sink that says which table it writes. */
export interface IcebergSink<T> extends TwoPhaseCommitSink<T, DataFile> {
  readonly kind: 'iceberg';
  readonly target: IcebergSinkTarget;
}

/** The table a sink writes, when it is an Iceberg sink. */
export function icebergTargetOf(sink: TwoPhaseCommitSink<unknown, unknown>): IcebergSinkTarget | undefined {
  return sink.kind === 'iceberg' && 'target' in sink ? (sink as IcebergSink<unknown>).target : undefined;
}

/**
 * Exactly-once Iceberg sink (two-phase commit with the runtime's checkpoints): Parquet files are
 * written as records arrive, listed in the checkpoint at each barrier, and appended to the table
 * in one snapshot once the checkpoint is durable. Its maintainer compacts the table, expires
 * snapshots and removes orphan files (`maintain <job>`, MAINTAIN_INTERVAL_MS).
 *
 * @example
 * stream.sink('table', icebergSink({ catalog: () => catalog, table: { namespace: 'sink', name: 'orders' }, schema }));
 */
export function icebergSink<T>(options: IcebergSinkOptions<T>): IcebergSink<T> {
  return {
    kind: 'iceberg',
    target: { table: options.table, schema: options.schema, ...(options.partitionSpec ? { partitionSpec: options.partitionSpec } : {}) },
    committableSerializer: dataFileSerializer,
    // The writer (Apache Arrow, the Parquet encoders) loads only in the threads that write: a
    // coordinator of parallel subtasks commits and never writes.
    createWriter: async (ctx) => (await import('./iceberg-sink-writer.js')).createIcebergSinkWriter(options, ctx),
    createCommitter: (ctx) => createIcebergCommitter(options, ctx),
    createMaintainer: (ctx) => createIcebergTableMaintainer(options, ctx),
  };
}
