/**
 * How data files are encoded, and the parquet-wasm writer properties (arrow-rs' WriterProperties)
 * that say so. Field metadata `PARQUET:field_id` on the Arrow schema becomes each column's
 * Parquet field_id, so every column carries its Iceberg field id.
 */
import { Compression, EnabledStatistics, WriterPropertiesBuilder, WriterVersion, type WriterProperties } from 'parquet-wasm';
import { streamlineCreatedBy } from './parquet-created-by.js';

/** Codecs parquet-wasm offers (ZSTD at level 1: the level is not settable). */
export type ParquetCodec = 'ZSTD' | 'SNAPPY' | 'LZ4_RAW' | 'GZIP' | 'BROTLI' | 'UNCOMPRESSED';

export interface ParquetWriteOptions {
  /** Default ZSTD. */
  readonly codec?: ParquetCodec;
  /** A row group closes at this many rows (default 1,048,576, arrow-rs' default)… */
  readonly rowGroupRows?: number;
  /**
   * …or at about this many encoded bytes (default 8 MiB; a DataFileWriter takes at most an eighth
   * of its target file size), whichever comes first. The encoder holds the open row group of
   * every open file, so this bounds its memory per file. Bytes per orders row by row-group size:
   * 2 MiB 15.55, 4 MiB 14.93, 8 MiB 14.50, 16 MiB 14.35.
   */
  readonly rowGroupBytes?: number;
  /** Max data page size in bytes (default 1 MiB). */
  readonly dataPageBytes?: number;
  /**
   * Dictionary encoding: `'auto'` (default) decides per top-level column from the first batch of
   * each file (dictionary-columns.ts); `true`/`false` for every column.
   */
  readonly dictionary?: 'auto' | boolean;
  /** Per-column override by top-level column name (e.g. `{ status: true }`); wins over `dictionary`. */
  readonly columnDictionary?: Readonly<Record<string, boolean>>;
  /** Footer `created_by`; default streamlineCreatedBy() (parquet-created-by.ts). */
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

export const DEFAULT_ROW_GROUP_BYTES = 8 * 1024 * 1024;

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
