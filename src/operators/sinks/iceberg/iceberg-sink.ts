import type { DataFile } from '../../../iceberg/data-file.js';
import { dataFileFromJson, dataFileToJson, type DataFileJson } from '../../../iceberg/data-file-json.js';
import type { VersionedSerializer } from '../../../runtime/serializer.js';
import type { TwoPhaseCommitSink } from '../../../runtime/sink.js';
import { createIcebergCommitter } from './iceberg-committer.js';
import type { IcebergSinkOptions } from './iceberg-sink-options.js';
import { createIcebergSinkWriter } from './iceberg-sink-writer.js';
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

/**
 * Exactly-once Iceberg sink (two-phase commit with the runtime's checkpoints): Parquet files are
 * written as records arrive, listed in the checkpoint at each barrier, and appended to the table
 * in one snapshot once the checkpoint is durable. Its maintainer compacts the table, expires
 * snapshots and removes orphan files (`maintain <job>`, MAINTAIN_INTERVAL_MS).
 *
 * @example
 * stream.sink('table', icebergSink({ catalog: () => catalog, table: { namespace: 'sink', name: 'orders' }, schema }));
 */
export function icebergSink<T>(options: IcebergSinkOptions<T>): TwoPhaseCommitSink<T, DataFile> {
  return {
    kind: 'iceberg',
    committableSerializer: dataFileSerializer,
    createWriter: (ctx) => createIcebergSinkWriter(options, ctx),
    createCommitter: (ctx) => createIcebergCommitter(options, ctx),
    createMaintainer: (ctx) => createIcebergTableMaintainer(options, ctx),
  };
}
