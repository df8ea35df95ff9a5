/**
 * A rolling Parquet data-file writer: rows are grouped by partition tuple and buffered as Arrow
 * batches per partition; a partition's buffer becomes a Parquet file once its estimated encoded
 * size reaches the target file size, and `flush()` (called at every checkpoint) closes them all.
 * Files go through a FileIO to `<tableLocation>/data/<partition path>/<uuid>.parquet`, and come
 * back as complete DataFile entries (stats, split offsets) ready for a manifest.
 *
 * By default the Parquet encode (and footer stats) runs in a worker thread and is pipelined: a
 * rolled file is handed off and `append` returns while it encodes, up to `maxEncodesInFlight`
 * files at once (then `append` waits: memory stays bounded); `flush` awaits them all.
 *
 * Not safe for concurrent `append` calls; await each. A failed encode or file write rejects the
 * call (inline mode) or the next `append`/`flush` (worker mode; every later call too), and the
 * rows of that file are gone: the caller must fail and restore from its checkpoint. `close()`
 * when done, so the shared encode pool can stop its workers.
 */
import { randomUUID } from 'node:crypto';
import { Table, tableToIPC, type RecordBatch } from 'apache-arrow';
import type { DataFile, PartitionValue } from './data-file.js';
import type { FileIO } from './file-io.js';
import { UNPARTITIONED, type PartitionSpec, type Schema } from './schema.js';
import { RecordBatchBuilder, type RejectedRow } from './record-batch-builder.js';
import { encodeParquet, type ParquetEncoderOptions } from './parquet-encoder.js';
import { readParquetFooterStats, type ParquetFooterStats } from './parquet-footer-stats.js';
import { acquireSharedParquetEncodePool, ParquetEncodePool, releaseSharedParquetEncodePool, type ParquetEncodeService } from './parquet-encode-pool.js';
import { PartitionKeyer } from './partition-keyer.js';
import { IcebergValueError } from './row-value-coercion.js';
import { IcebergError } from '../errors.js';

export interface DataFileWriterOptions {
  readonly schema: Schema;
  /** Default: unpartitioned. */
  readonly spec?: PartitionSpec;
  /** Table root, e.g. `s3://bucket/warehouse/sink/orders` or `file:///tmp/wh/sink/orders`. */
  readonly tableLocation: string;
  readonly fileIO: FileIO;
  /** Roll a file when its estimated Parquet size reaches this (default 128 MiB, Iceberg's write.target-file-size-bytes is 512 MiB). */
  readonly targetFileSizeBytes?: number;
  /**
   * Bound on buffered Arrow bytes over all partitions (default 4 × target, at least 64 MiB): when
   * exceeded the largest partition is written early, so many open partitions cannot exhaust memory.
   */
  readonly maxBufferedBytes?: number;
  /** Rows per Arrow batch inside a file (default 65,536). */
  readonly batchRows?: number;
  readonly parquet?: ParquetEncoderOptions;
  /** Prepended to each file's uuid name, e.g. `orders-0-` (default none). */
  readonly fileNamePrefix?: string;
  /** Bound truncation length for strings/binary (default 16). */
  readonly truncateLength?: number;
  /** Encode Parquet in a worker thread, overlapping with `append` (default true when the worker module is available). */
  readonly encodeInWorker?: boolean;
  /** Pool for worker encodes (default: the process-wide shared pool, 1 worker). The writer never closes a pool it was given. */
  readonly encodePool?: ParquetEncodeService;
  /** Worker mode: files encoding at once before `append` waits (default 2). Each holds one file's Arrow IPC bytes. */
  readonly maxEncodesInFlight?: number;
}

/** Outcome of one append: how many rows were buffered and which were rejected (dead letters). */
export interface AppendResult {
  readonly accepted: number;
  readonly rejected: RejectedRow[];
}

/** The writer was closed; it accepts no more rows. */
export class DataFileWriterClosedError extends IcebergError {
  constructor() {
    super('DataFileWriter is closed');
  }
}

interface PartitionBuffer {
  readonly values: readonly PartitionValue[];
  readonly builder: RecordBatchBuilder;
  readonly batches: RecordBatch[];
  readonly nanValueCounts: Map<number, number>;
  sealedBytes: number;
}

const MiB = 1024 * 1024;
/** Parquet bytes per Arrow byte before any file was written (orders-like rows measure ≈0.45). */
const INITIAL_SIZE_RATIO = 0.5;

/** Buffers rows per partition and writes rolling Parquet data files. */
export class DataFileWriter {
  private readonly keyer: PartitionKeyer;
  private readonly buffers = new Map<string, PartitionBuffer>();
  /** Files written since the last flush, by roll sequence (worker mode finishes them out of order). */
  private completed: { readonly seq: number; readonly file: DataFile }[] = [];
  private nextSeq = 0;
  private readonly inWorker: boolean;
  private readonly maxInFlight: number;
  private pool: ParquetEncodeService | undefined;
  private usesSharedPool = false;
  /** Worker mode: files handed off and not yet written; these promises never reject (see `failure`). */
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightRows = 0;
  /** First failure of a handed-off file; sticky, since a file of this checkpoint is lost. */
  private failure: { readonly error: unknown } | undefined;
  private closed = false;
  private readonly target: number;
  private readonly maxBuffered: number;
  private readonly batchRows: number;
  private readonly location: string;
  /** Observed Parquet size / Arrow size, refined after every file. */
  private sizeRatio = INITIAL_SIZE_RATIO;

  constructor(private readonly options: DataFileWriterOptions) {
    this.keyer = new PartitionKeyer(options.spec ?? UNPARTITIONED, options.schema);
    this.target = options.targetFileSizeBytes ?? 128 * MiB;
    this.maxBuffered = options.maxBufferedBytes ?? Math.max(4 * this.target, 64 * MiB);
    this.batchRows = options.batchRows ?? 65_536;
    this.location = options.tableLocation.replace(/\/+$/, '');
    if (!(this.target > 0)) throw new RangeError('targetFileSizeBytes must be positive');
    this.pool = options.encodePool;
    this.inWorker = options.encodeInWorker ?? (this.pool !== undefined || ParquetEncodePool.isAvailable());
    this.maxInFlight = options.maxEncodesInFlight ?? 2;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) throw new RangeError('maxEncodesInFlight must be a positive integer');
    // Start the shared pool's worker now: its WebAssembly compiles while the first file's rows buffer.
    if (this.inWorker && this.pool === undefined) (this.encodePool() as ParquetEncodePool).warm();
  }

  /** Whether Parquet encoding runs in a worker thread. */
  get encodesInWorker(): boolean {
    return this.inWorker;
  }

  /** Files handed to the worker and not yet written (worker mode). */
  get encodesInFlight(): number {
    return this.inFlight.size;
  }

  /** Rows buffered or encoding, not yet in a written file. */
  get bufferedRows(): number {
    let n = this.inFlightRows;
    for (const b of this.buffers.values()) n += b.builder.length + b.batches.reduce((s, x) => s + x.numRows, 0);
    return n;
  }

  /** Buffers rows (each validated against the schema); writes the files that reached the target size. */
  async append(rows: readonly unknown[]): Promise<AppendResult> {
    this.throwIfUnusable();
    const rejected: RejectedRow[] = [];
    const touched = new Set<PartitionBuffer>();
    let accepted = 0;
    let single = this.keyer.unpartitioned ? this.bufferFor('', []) : undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      let buffer = single;
      if (buffer === undefined) {
        if (typeof row !== 'object' || row === null || Array.isArray(row)) {
          rejected.push({ index: i, row, reason: 'row is not an object' });
          continue;
        }
        try {
          const key = this.keyer.keyOf(row as Record<string, unknown>);
          buffer = this.buffers.get(key) ?? this.bufferFor(key, this.keyer.partitionOf(row as Record<string, unknown>).values);
        } catch (e) {
          if (!(e instanceof IcebergValueError)) throw e;
          rejected.push({ index: i, row, reason: `partition source: ${e.message}` });
          continue;
        }
      }
      const reason = buffer.builder.append(row);
      if (reason !== undefined) {
        rejected.push({ index: i, row, reason });
        continue;
      }
      accepted++;
      touched.add(buffer);
      if (buffer.builder.length >= this.batchRows) {
        this.seal(buffer);
        if (this.estimatedFileBytes(buffer) >= this.target) {
          await this.roll(buffer);
          if (single) single = this.bufferFor('', []);
        }
      }
    }
    for (const buffer of touched) {
      if (this.isOpen(buffer) && this.estimatedFileBytes(buffer) >= this.target) await this.roll(buffer);
    }
    await this.enforceMemoryBound();
    return { accepted, rejected };
  }

  /** Writes every buffered partition, awaits every encode in flight and returns all files completed since the last flush. */
  async flush(): Promise<DataFile[]> {
    this.throwIfUnusable();
    for (const buffer of [...this.buffers.values()]) await this.roll(buffer);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.throwIfUnusable();
    const files = this.completed.sort((a, b) => a.seq - b.seq).map((c) => c.file);
    this.completed = [];
    return files;
  }

  /**
   * Discards buffered rows (they belong to no checkpoint), waits for encodes in flight to settle
   * and lets go of the encode pool. Idempotent; the writer accepts nothing afterwards.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.buffers.clear();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.completed = [];
    if (this.usesSharedPool) {
      this.usesSharedPool = false;
      this.pool = undefined;
      await releaseSharedParquetEncodePool();
    }
  }

  private throwIfUnusable(): void {
    if (this.closed) throw new DataFileWriterClosedError();
    if (this.failure) throw this.failure.error;
  }

  private bufferFor(key: string, values: readonly PartitionValue[]): PartitionBuffer {
    let buffer = this.buffers.get(key);
    if (buffer === undefined) {
      buffer = { values, builder: new RecordBatchBuilder(this.options.schema), batches: [], nanValueCounts: new Map(), sealedBytes: 0 };
      this.buffers.set(key, buffer);
    }
    return buffer;
  }

  private isOpen(buffer: PartitionBuffer): boolean {
    for (const b of this.buffers.values()) if (b === buffer) return true;
    return false;
  }

  private arrowBytes(buffer: PartitionBuffer): number {
    return buffer.sealedBytes + buffer.builder.estimatedBytes();
  }

  private estimatedFileBytes(buffer: PartitionBuffer): number {
    return this.arrowBytes(buffer) * this.sizeRatio;
  }

  private seal(buffer: PartitionBuffer): void {
    if (buffer.builder.length === 0) return;
    buffer.sealedBytes += buffer.builder.estimatedBytes();
    const { batch, nanValueCounts } = buffer.builder.finish();
    buffer.batches.push(batch);
    for (const [id, n] of nanValueCounts) buffer.nanValueCounts.set(id, (buffer.nanValueCounts.get(id) ?? 0) + n);
  }

  private async enforceMemoryBound(): Promise<void> {
    for (;;) {
      let total = 0;
      let largest: PartitionBuffer | undefined;
      for (const b of this.buffers.values()) {
        const bytes = this.arrowBytes(b);
        total += bytes;
        if (!largest || bytes > this.arrowBytes(largest)) largest = b;
      }
      if (total <= this.maxBuffered || !largest) return;
      await this.roll(largest);
    }
  }

  /** Detaches the buffer synchronously (so the next rows start a new one), then encodes and writes it, inline or in a worker. */
  private async roll(buffer: PartitionBuffer): Promise<void> {
    this.seal(buffer);
    for (const [key, b] of this.buffers) if (b === buffer) this.buffers.delete(key);
    if (buffer.batches.length === 0) return;
    const seq = this.nextSeq++;
    if (!this.inWorker) {
      const bytes = encodeParquet(buffer.batches, this.options.parquet);
      const stats = readParquetFooterStats(bytes, this.options.schema, { truncateLength: this.options.truncateLength });
      await this.writeFile(seq, buffer, bytes, stats);
      return;
    }
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    this.throwIfUnusable();
    const rows = buffer.batches.reduce((s, b) => s + b.numRows, 0);
    const ipc = tableToIPC(new Table(buffer.batches), 'stream');
    buffer.batches.length = 0; // the IPC copy is all the worker needs; let the batches go
    const job = this.encodePool()
      .encode({ ipc, fields: this.options.schema.fields, ...(this.options.parquet ? { parquet: this.options.parquet } : {}), ...(this.options.truncateLength !== undefined ? { truncateLength: this.options.truncateLength } : {}) })
      .then(({ bytes, stats }) => this.writeFile(seq, buffer, bytes, stats))
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.inFlight.delete(job);
        this.inFlightRows -= rows;
      });
    this.inFlight.add(job);
    this.inFlightRows += rows;
  }

  private encodePool(): ParquetEncodeService {
    if (this.pool === undefined) {
      this.pool = acquireSharedParquetEncodePool();
      this.usesSharedPool = true;
    }
    return this.pool;
  }

  private async writeFile(seq: number, buffer: PartitionBuffer, bytes: Uint8Array, stats: ParquetFooterStats): Promise<void> {
    const arrowBytes = buffer.sealedBytes;
    const partitionPath = this.keyer.path(buffer.values);
    const name = `${this.options.fileNamePrefix ?? ''}${randomUUID()}.parquet`;
    const filePath = `${this.location}/data/${partitionPath ? `${partitionPath}/` : ''}${name}`;
    await this.options.fileIO.write(filePath, bytes);
    if (arrowBytes > 0) this.sizeRatio = 0.5 * this.sizeRatio + 0.5 * (bytes.length / arrowBytes);
    const nanValueCounts = new Map<number, number>();
    for (const [id, n] of buffer.nanValueCounts) if (stats.valueCounts.has(id)) nanValueCounts.set(id, n);
    this.completed.push({
      seq,
      file: {
        content: 0,
        filePath,
        fileFormat: 'PARQUET',
        partition: this.keyer.toRecord(buffer.values),
        specId: this.keyer.spec['spec-id'],
        recordCount: stats.recordCount,
        fileSizeInBytes: bytes.length,
        columnSizes: stats.columnSizes,
        valueCounts: stats.valueCounts,
        nullValueCounts: stats.nullValueCounts,
        nanValueCounts,
        lowerBounds: stats.lowerBounds,
        upperBounds: stats.upperBounds,
        splitOffsets: stats.splitOffsets,
      },
    });
  }
}
