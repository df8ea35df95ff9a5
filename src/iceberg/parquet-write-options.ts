/**
 * How data files are encoded (the writer properties that say so are built next to the encoder,
 * in parquet-writer-properties.ts). This module loads no WebAssembly: every thread that runs a
 * sink imports it, and only the threads that encode load parquet-wasm.
 */

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

export const DEFAULT_ROW_GROUP_BYTES = 8 * 1024 * 1024;
