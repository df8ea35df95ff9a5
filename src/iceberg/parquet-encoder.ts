/**
 * Arrow → Parquet bytes with parquet-wasm (arrow-rs compiled to WebAssembly). The Arrow data
 * crosses into WebAssembly as one IPC stream; field metadata `PARQUET:field_id` becomes each
 * column's Parquet field_id.
 */
import { RecordBatch, Table, tableToIPC } from 'apache-arrow';
import { Compression, EnabledStatistics, Table as WasmTable, writeParquet, WriterPropertiesBuilder, WriterVersion } from 'parquet-wasm';

/** Codecs parquet-wasm offers (ZSTD at its default level: the level is not settable). */
export type ParquetCodec = 'ZSTD' | 'SNAPPY' | 'LZ4_RAW' | 'GZIP' | 'BROTLI' | 'UNCOMPRESSED';

export interface ParquetEncoderOptions {
  /** Default ZSTD. */
  readonly codec?: ParquetCodec;
  /** Max rows per row group (default 1,048,576, arrow-rs' default). */
  readonly rowGroupRows?: number;
  /** Max data page size in bytes (default 1 MiB). */
  readonly dataPageBytes?: number;
  /**
   * Dictionary encoding (default false). Measured on orders-like rows: without dictionaries the
   * files were ~30% smaller and encoding ~25% faster, because ZSTD already squeezes repeated values
   * and unique columns (ids, timestamps) otherwise pay for a dictionary attempt and a fallback.
   */
  readonly dictionary?: boolean;
  /** Per-column dictionary override by top-level column name (e.g. `{ status: true }`). */
  readonly columnDictionary?: Readonly<Record<string, boolean>>;
  /** Footer `created_by`. */
  readonly createdBy?: string;
}

const CODECS: Record<ParquetCodec, Compression> = {
  ZSTD: Compression.ZSTD,
  SNAPPY: Compression.SNAPPY,
  LZ4_RAW: Compression.LZ4_RAW,
  GZIP: Compression.GZIP,
  BROTLI: Compression.BROTLI,
  UNCOMPRESSED: Compression.UNCOMPRESSED,
};

/** Writer properties for one write: parquet-wasm consumes them, so never reuse the result. */
export function parquetWriterProperties(options: ParquetEncoderOptions): ReturnType<WriterPropertiesBuilder['build']> {
  const codec = options.codec ?? 'ZSTD';
  const compression = CODECS[codec];
  if (compression === undefined) throw new RangeError(`Unknown Parquet codec ${codec}`);
  let builder = new WriterPropertiesBuilder()
    .setCompression(compression)
    .setWriterVersion(WriterVersion.V1)
    .setDictionaryEnabled(options.dictionary ?? false)
    // Chunk statistics are all Iceberg needs; page-level ones (column index) cost encode time.
    .setStatisticsEnabled(EnabledStatistics.Chunk)
    .setCreatedBy(options.createdBy ?? 'streamline iceberg (parquet-wasm)');
  for (const [column, enabled] of Object.entries(options.columnDictionary ?? {})) builder = builder.setColumnDictionaryEnabled(column, enabled);
  if (options.rowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(options.rowGroupRows);
  if (options.dataPageBytes !== undefined) builder = builder.setDataPageSizeLimit(options.dataPageBytes);
  return builder.build();
}

/** Encodes an Arrow Table (or batches sharing one schema) into a complete Parquet file. */
export function encodeParquet(data: Table | readonly RecordBatch[], options: ParquetEncoderOptions = {}): Uint8Array {
  const table = data instanceof Table ? data : new Table(data as RecordBatch[]);
  return encodeParquetFromIpc(tableToIPC(table, 'stream'), options);
}

/** Encodes an Arrow IPC stream into Parquet (the part that runs inside WebAssembly). */
export function encodeParquetFromIpc(ipcStream: Uint8Array, options: ParquetEncoderOptions = {}): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(ipcStream), parquetWriterProperties(options));
}
