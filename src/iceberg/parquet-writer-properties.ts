/**
 * The parquet-wasm writer properties (arrow-rs' WriterProperties) of a file's ParquetWriteOptions.
 * Field metadata `PARQUET:field_id` on the Arrow schema becomes each column's Parquet field_id,
 * so every column carries its Iceberg field id. Importing this loads parquet-wasm (~18 MiB of
 * compiled WebAssembly per thread): only the encoders do.
 */
import { Compression, EnabledStatistics, WriterPropertiesBuilder, WriterVersion, type WriterProperties } from 'parquet-wasm';
import { streamlineCreatedBy } from './parquet-created-by.js';
import { DEFAULT_ROW_GROUP_BYTES, type ParquetCodec, type ParquetWriteOptions } from './parquet-write-options.js';

const CODECS: Record<ParquetCodec, Compression> = {
  ZSTD: Compression.ZSTD,
  SNAPPY: Compression.SNAPPY,
  LZ4_RAW: Compression.LZ4_RAW,
  GZIP: Compression.GZIP,
  BROTLI: Compression.BROTLI,
  UNCOMPRESSED: Compression.UNCOMPRESSED,
};

/**
 * Writer properties for one file; `chosenDictionary` is the per-column choice of `'auto'` mode.
 * parquet-wasm consumes the result, so build one per file.
 */
export function parquetWriterProperties(options: ParquetWriteOptions, chosenDictionary: Readonly<Record<string, boolean>> = {}): WriterProperties {
  const codec = options.codec ?? 'ZSTD';
  const compression = CODECS[codec];
  if (compression === undefined) throw new RangeError(`Unknown Parquet codec ${codec}`);
  const dictionary = options.dictionary ?? 'auto';
  let builder = new WriterPropertiesBuilder()
    .setCompression(compression)
    .setWriterVersion(WriterVersion.V1)
    .setDictionaryEnabled(dictionary === true)
    // Chunk statistics are all Iceberg needs; page-level ones (column index) cost encode time.
    .setStatisticsEnabled(EnabledStatistics.Chunk)
    .setCreatedBy(options.createdBy ?? streamlineCreatedBy())
    .setMaxRowGroupBytes(options.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES);
  const columns = { ...(dictionary === 'auto' ? chosenDictionary : {}), ...options.columnDictionary };
  for (const [column, enabled] of Object.entries(columns)) builder = builder.setColumnDictionaryEnabled(column, enabled);
  if (options.rowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(options.rowGroupRows);
  if (options.dataPageBytes !== undefined) builder = builder.setDataPageSizeLimit(options.dataPageBytes);
  return builder.build();
}
