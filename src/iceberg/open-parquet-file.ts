/**
 * A Parquet data file open for writing, whether it encodes on this thread
 * (streaming-parquet-file.ts) or in a worker (parquet-writer-pool.ts): Arrow batches go in as
 * IPC streams, row groups go out to storage as they fill, and `close()` returns the file's size
 * and Iceberg column statistics.
 */
import type { ParquetFooterStats } from './parquet-footer-stats.js';
import type { ParquetWriteOptions } from './parquet-write-options.js';
import type { Schema } from './schema.js';
import { IcebergError } from '../errors.js';

/** What a file is and how it is encoded: plain data, so a worker thread can open it too. */
export interface ParquetFileSpec {
  readonly location: string;
  /** The table schema's fields: the batches' Arrow schema, and the types of the footer's min/max. */
  readonly fields: Schema['fields'];
  readonly parquet: ParquetWriteOptions;
  /** Bound truncation length for strings/binary (default 16, Iceberg's `truncate(16)`). */
  readonly truncateLength?: number;
}

/** A closed, visible file. */
export interface WrittenParquetFile {
  readonly sizeBytes: number;
  readonly stats: ParquetFooterStats;
}

export interface OpenParquetFile {
  /**
   * Hands one Arrow IPC stream (a batch of the spec's schema) to the encoder. Resolves when the
   * encoder has taken it (its memory is free again) with the Parquet bytes stored so far; rejects
   * once the file failed. Call again without waiting to queue more batches. A failure after the
   * last write was taken (storing its row groups) goes to the `onFailure` given at open.
   */
  write(ipc: Uint8Array): Promise<number>;
  /** Finishes the last row group and the footer, makes the file visible and returns its statistics. */
  close(): Promise<WrittenParquetFile>;
  /** Discards the file (it never becomes visible). A no-op once closed. */
  abort(): Promise<void>;
}

/** Encoding or storing a Parquet file failed (or its worker died); the file's rows are lost and must be re-read. */
export class ParquetWriteError extends IcebergError {}

/** A batch's Arrow schema differs from the file's (the encoder would drop it silently). */
export class ParquetSchemaMismatchError extends ParquetWriteError {}

/** The footer does not hold the rows that were written (the encoder dropped some silently). */
export class ParquetRowCountError extends ParquetWriteError {}

/** The file was closed or aborted before this call. */
export class ParquetFileClosedError extends ParquetWriteError {}
