import { DataFileWriter } from '../../../iceberg/data-file-writer.js';
import type { DataFile } from '../../../iceberg/data-file.js';
import { IcebergTable } from '../../../iceberg/iceberg-table.js';
import type { SinkContext, SinkWriter } from '../../../runtime/sink.js';
import type { IcebergSinkOptions } from './iceberg-sink-options.js';

/**
 * First phase of the Iceberg sink: rows → Arrow → Parquet data files under the table's data
 * location, streamed to storage as they grow within a memory budget, rolled by size and always
 * sealed at a barrier (closed and stored while the next checkpoint's rows already flow). The files written for a checkpoint are its committables; nothing is
 * visible in the table until the committer appends them. Rows that do not fit the table schema
 * become dead letters (`sink_rejected`).
 */
export async function createIcebergSinkWriter<T>(options: IcebergSinkOptions<T>, ctx: SinkContext): Promise<SinkWriter<T, DataFile>> {
  const catalog = options.catalog();
  const table = await IcebergTable.open(catalog, options.table, {
    schema: options.schema,
    ...(options.partitionSpec ? { spec: options.partitionSpec } : {}),
    properties: { 'write.format.default': 'parquet', 'write.parquet.compression-codec': 'zstd', ...options.properties },
  });
  const files = new DataFileWriter({
    schema: table.schema,
    spec: table.spec,
    tableLocation: table.location,
    fileIO: catalog.fileIO,
    ...(options.targetFileSizeBytes ? { targetFileSizeBytes: options.targetFileSizeBytes } : {}),
    ...(options.writeBufferBytes ? { writeBufferBytes: options.writeBufferBytes } : {}),
    ...(options.parquetWorkers ? { parquetWorkers: options.parquetWorkers } : {}),
    fileNamePrefix: `${ctx.stepId.replace(/[^a-zA-Z0-9_-]/g, '_')}-`,
  });
  const labels = { job: ctx.jobName, operator: ctx.stepId };
  const toRow = options.toRow;
  let rejectedLogged = 0;
  const counted = (written: DataFile[]): DataFile[] => {
    ctx.metrics.sinkBufferedBytes.set(labels, files.bufferedBytes);
    for (const f of written) {
      ctx.metrics.sinkFiles.inc(labels);
      ctx.metrics.sinkBytes.inc(labels, f.fileSizeInBytes);
      ctx.metrics.sinkRows.inc(labels, f.recordCount);
    }
    return written;
  };
  return {
    async write(records) {
      const rows = toRow ? records.map(toRow) : records;
      const result = await files.append(rows);
      ctx.metrics.sinkBufferedBytes.set(labels, files.bufferedBytes);
      if (result.rejected.length > 0) {
        ctx.metrics.deadLetters.inc({ ...labels, reason: 'sink_rejected' }, result.rejected.length);
        ctx.deadLetters.send(
          result.rejected.map((r) => ({
            reason: 'sink_rejected' as const,
            detail: `does not fit table ${options.table.namespace}.${options.table.name}: ${r.reason}`,
            step: ctx.stepId,
            payload: JSON.stringify(r.row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
          })),
        );
        if (rejectedLogged++ < 5) ctx.logger.warn({ example: result.rejected[0]?.reason, count: result.rejected.length }, 'rows rejected by the table schema; sent to dead letters');
      }
    },
    async prepareCommit() {
      return counted(await files.flush());
    },
    seal() {
      const sealed = files.seal();
      ctx.metrics.sinkBufferedBytes.set(labels, files.bufferedBytes);
      return sealed.then(counted);
    },
    async close() {
      // Buffered rows belong to no checkpoint: they are re-read from the source after a restart.
      await files.close();
      ctx.metrics.sinkBufferedBytes.set(labels, 0);
    },
  };
}
