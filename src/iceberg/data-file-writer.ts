/**
 * A streaming Parquet data-file writer with bounded memory. Rows are grouped by partition tuple;
 * each partition has one open file, fed with Arrow batches of at most `batchRows` rows: a sealed
 * batch goes to the file's encoder at once (in a worker thread by default), which streams it as
 * row groups into storage while the file grows (S3 multipart parts, a local temp file). A file
 * closes at about the target size, and `seal()` or `flush()` (at every checkpoint) closes them
 * all and returns complete DataFile entries (stats, split offsets) ready for a manifest.
 *
 * Memory is bounded by `writeBufferBytes`, independent of the target file size: it caps the Arrow
 * rows buffered on this thread plus the batches handed to encoders and not yet taken, over all
 * open files. Over the budget, the partition with the most buffered rows ships a batch early;
 * when shipped batches are what fills it, `append` waits for encoders to take them (backpressure).
 * Beyond the budget each open file holds its open row group in the encoder (at most
 * `parquet.rowGroupBytes`: 8 MiB, or an eighth of the target size) and its unfinished upload part
 * (S3: up to `partConcurrency + 1` parts while uploads lag).
 *
 * `seal()` is the asynchronous form of `flush()` for checkpoints: it closes the open files at
 * once and resolves with them when they are stored, while later rows already go to new files —
 * so a barrier waits for neither the last row group's encoding nor the upload of the footer.
 *
 * Not safe for concurrent calls; await each. A failed encode or upload fails the next
 * `append`/`flush` and every one after it — that file's rows are lost, so the caller must fail
 * and restore from its checkpoint. `close()` aborts open files (nothing partial becomes visible),
 * deletes files finished since the last flush or seal (they belong to no checkpoint) and releases the
 * shared writer pool.
 */
import { randomUUID } from 'node:crypto';
import { Table, tableToIPC } from 'apache-arrow';
import type { DataFile, PartitionValue } from './data-file.js';
import type { FileIO, FileIODescription } from './file-io.js';
import { ParquetRowCountError, type OpenParquetFile, type ParquetFileSpec, type WrittenParquetFile } from './open-parquet-file.js';
import { streamlineCreatedBy } from './parquet-created-by.js';
import { DEFAULT_ROW_GROUP_BYTES, type ParquetWriteOptions } from './parquet-write-options.js';
import { acquireSharedParquetWriterPool, ParquetWriterPool, releaseSharedParquetWriterPool, type ParquetFileOpener } from './parquet-writer-pool.js';
import { PartitionKeyer } from './partition-keyer.js';
import { RecordBatchBuilder, type RejectedRow } from './record-batch-builder.js';
import { IcebergValueError } from './row-value-coercion.js';
import { UNPARTITIONED, type PartitionSpec, type Schema } from './schema.js';
import { openInThreadParquetFile } from './in-thread-parquet-file.js';
import { IcebergError } from '../errors.js';

const MiB = 1024 * 1024;

export interface DataFileWriterOptions {
  readonly schema: Schema;
  /** Default: unpartitioned. */
  readonly spec?: PartitionSpec;
  /** Table root, e.g. `s3://bucket/warehouse/sink/orders` or `file:///tmp/wh/sink/orders`. */
  readonly tableLocation: string;
  readonly fileIO: FileIO;
  /** Close a file when its estimated Parquet size reaches this (default 128 MiB; Iceberg's write.target-file-size-bytes is 512 MiB). */
  readonly targetFileSizeBytes?: number;
  /** Memory budget of buffered and in-flight Arrow batches over all open files (default 64 MiB). */
  readonly writeBufferBytes?: number;
  /**
   * Rows per Arrow batch handed to an encoder (default 8,192; a batch also seals at a quarter of
   * the budget). Small batches keep the encoders close behind, so a seal has little left to encode.
   */
  readonly batchRows?: number;
  /**
   * Rows of a file's first batch, the sample its dictionary columns are chosen from (default
   * `batchRows`). Files close at every checkpoint, so a file often ends before a larger sample
   * fills, and then all its rows wait to be encoded at the seal (see docs/design-notes.md).
   */
  readonly firstBatchRows?: number;
  readonly parquet?: ParquetWriteOptions;
  /** Prepended to each file's uuid name, e.g. `orders-0-` (default none). */
  readonly fileNamePrefix?: string;
  /** Bound truncation length for strings/binary (default 16). */
  readonly truncateLength?: number;
  /**
   * Encode and upload in worker threads (default: when the worker module exists and the FileIO
   * has a `description` a worker can rebuild it from); otherwise on this thread.
   */
  readonly writeInWorker?: boolean;
  /** Pool for worker mode (default: the process-wide shared pool). The writer never closes a pool it was given. */
  readonly writerPool?: ParquetFileOpener;
  /** Worker threads of the shared pool, if this writer is the one creating it (default: by cores). */
  readonly parquetWorkers?: number;
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

/** One partition's open file: the rows still building on this thread and what was shipped to its encoder. */
interface PartitionFile {
  readonly key: string;
  readonly values: readonly PartitionValue[];
  /** Open order; flush returns files in it. */
  readonly seq: number;
  readonly filePath: string;
  readonly builder: RecordBatchBuilder;
  /** Opened with the first shipped batch. */
  file: OpenParquetFile | undefined;
  rows: number;
  /** Arrow IPC bytes shipped. */
  arrowBytes: number;
  /** Arrow IPC bytes the encoder has taken, and the Parquet bytes stored when it took the last of them. */
  takenBytes: number;
  storedBytes: number;
  readonly nanValueCounts: Map<number, number>;
}

/** Parquet bytes per Arrow IPC byte before any file closed: orders rows measure 0.13–0.18 with ZSTD and dictionaries. */
const INITIAL_SIZE_RATIO = 0.2;

/** Buffers rows per partition and streams them into rolling Parquet data files. */
export class DataFileWriter {
  private readonly keyer: PartitionKeyer;
  private readonly open = new Map<string, PartitionFile>();
  private nextSeq = 0;
  /** Files closed and not yet returned by a flush or seal. */
  private completed: { readonly seq: number; readonly epoch: number; readonly file: DataFile }[] = [];
  /** Seals so far: files closed from now on belong to the next one. */
  private epoch = 0;
  /** The last seal's result (close waits for it: the files it returns are the caller's, not orphans). */
  private sealing: Promise<unknown> = Promise.resolve();
  /** Batches handed to encoders and not yet taken, and files closing; these promises never reject (see `failure`). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly closing = new Set<Promise<void>>();
  private inFlightBytes = 0;
  /** First failure of a file; sticky, since rows of this checkpoint are lost. */
  private failure: { readonly error: unknown } | undefined;
  private closed = false;
  private readonly inWorker: boolean;
  private readonly description: FileIODescription | undefined;
  private pool: ParquetFileOpener | undefined;
  private usesSharedPool = false;
  private readonly target: number;
  private readonly budget: number;
  private readonly batchRows: number;
  private readonly firstBatchRows: number;
  private readonly batchBytes: number;
  private readonly location: string;
  private readonly parquet: ParquetWriteOptions;
  /** Parquet size / Arrow IPC size of the files closed so far, for files without a stored row group yet. */
  private sizeRatio = INITIAL_SIZE_RATIO;

  constructor(private readonly options: DataFileWriterOptions) {
    this.keyer = new PartitionKeyer(options.spec ?? UNPARTITIONED, options.schema);
    this.target = options.targetFileSizeBytes ?? 128 * MiB;
    this.budget = options.writeBufferBytes ?? 64 * MiB;
    this.batchRows = options.batchRows ?? 8_192;
    this.firstBatchRows = options.firstBatchRows ?? this.batchRows;
    this.batchBytes = this.budget / 4;
    this.location = options.tableLocation.replace(/\/+$/, '');
    if (!(this.target > 0)) throw new RangeError('targetFileSizeBytes must be positive');
    if (!(this.budget > 0)) throw new RangeError('writeBufferBytes must be positive');
    if (!Number.isInteger(this.batchRows) || this.batchRows < 1) throw new RangeError('batchRows must be a positive integer');
    if (!Number.isInteger(this.firstBatchRows) || this.firstBatchRows < 1) throw new RangeError('firstBatchRows must be a positive integer');
    this.parquet = {
      // A file's size is known once its row groups are stored: smaller row groups than the target keep files close to it.
      rowGroupBytes: Math.min(DEFAULT_ROW_GROUP_BYTES, Math.ceil(this.target / 8)),
      ...options.parquet,
      // Resolved here, once, so that worker threads need not work it out.
      createdBy: options.parquet?.createdBy ?? streamlineCreatedBy(),
    };
    this.description = options.fileIO.description;
    this.pool = options.writerPool;
    this.inWorker = options.writeInWorker ?? (this.description !== undefined && (this.pool !== undefined || ParquetWriterPool.isAvailable()));
    if (this.inWorker && this.description === undefined) {
      throw new IcebergError('DataFileWriter: writeInWorker needs a FileIO with a description (a worker thread builds its own FileIO from it)');
    }
    // Start the shared pool's workers now: their WebAssembly compiles while the first rows buffer.
    if (this.inWorker && this.pool === undefined) this.sharedPool().warm();
  }

  /** Whether Parquet encoding and uploads run in worker threads. */
  get writesInWorker(): boolean {
    return this.inWorker;
  }

  /** Bytes held against the budget: Arrow rows building on this thread plus batches encoders have not taken yet. */
  get bufferedBytes(): number {
    let bytes = this.inFlightBytes;
    for (const pf of this.open.values()) bytes += pf.builder.estimatedBytes();
    return bytes;
  }

  /** Buffers rows (each validated against the schema), ships full batches, closes files that reached the target size. */
  async append(rows: readonly unknown[]): Promise<AppendResult> {
    this.throwIfUnusable();
    const rejected: RejectedRow[] = [];
    const touched = new Set<PartitionFile>();
    let accepted = 0;
    let single = this.keyer.unpartitioned ? this.partitionFile('', []) : undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      let pf = single;
      if (pf === undefined) {
        if (typeof row !== 'object' || row === null || Array.isArray(row)) {
          rejected.push({ index: i, row, reason: 'row is not an object' });
          continue;
        }
        try {
          const key = this.keyer.keyOf(row as Record<string, unknown>);
          pf = this.open.get(key) ?? this.partitionFile(key, this.keyer.partitionOf(row as Record<string, unknown>).values);
        } catch (e) {
          if (!(e instanceof IcebergValueError)) throw e;
          rejected.push({ index: i, row, reason: `partition source: ${e.message}` });
          continue;
        }
      }
      const reason = pf.builder.append(row);
      if (reason !== undefined) {
        rejected.push({ index: i, row, reason });
        continue;
      }
      accepted++;
      touched.add(pf);
      const length = pf.builder.length;
      if (length >= (pf.file === undefined ? this.firstBatchRows : this.batchRows) || ((length & 1023) === 0 && pf.builder.estimatedBytes() >= this.batchBytes)) {
        this.ship(pf);
        if (this.estimatedFileBytes(pf) >= this.target) {
          this.roll(pf);
          if (single) single = this.partitionFile('', []);
        }
      }
    }
    for (const pf of touched) if (this.open.get(pf.key) === pf && this.estimatedFileBytes(pf) >= this.target) this.roll(pf);
    await this.enforceBudget();
    return { accepted, rejected };
  }

  /** Closes every open file, waits until all are stored and returns the files closed since the last flush or seal. */
  async flush(): Promise<DataFile[]> {
    this.throwIfUnusable();
    for (const pf of [...this.open.values()]) this.roll(pf);
    this.epoch++;
    while (this.closing.size > 0 || this.inFlight.size > 0) await Promise.all([...this.closing, ...this.inFlight]);
    this.throwIfUnusable();
    return this.take(Number.POSITIVE_INFINITY);
  }

  /**
   * Closes every open file without waiting for it; resolves with the files closed since the last
   * flush or seal once they are all stored. Rows appended after the call start new files, which
   * belong to the next seal. Seals resolve in call order; a file that fails rejects the seal (and,
   * as always, the writer: its rows are lost).
   */
  seal(): Promise<DataFile[]> {
    try {
      this.throwIfUnusable();
    } catch (error) {
      return Promise.reject(error);
    }
    for (const pf of [...this.open.values()]) this.roll(pf);
    const epoch = this.epoch++;
    // Every file of this seal or an earlier one is closing now or already complete.
    const sealed = Promise.all([this.sealing, ...this.closing]).then(() => {
      this.throwIfUnusable();
      return this.take(epoch);
    });
    this.sealing = sealed.catch(() => undefined);
    return sealed;
  }

  /** Removes and returns, in open order, the completed files of seal `epoch` and earlier ones. */
  private take(epoch: number): DataFile[] {
    const taken = this.completed.filter((c) => c.epoch <= epoch).sort((a, b) => a.seq - b.seq);
    this.completed = this.completed.filter((c) => c.epoch > epoch);
    return taken.map((c) => c.file);
  }

  /**
   * Discards buffered rows and aborts open files (their rows belong to no checkpoint), deletes
   * files closed since the last flush, and lets go of the writer pool. Idempotent; the writer
   * accepts nothing afterwards.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.open.values()];
    this.open.clear();
    await Promise.all(open.map((pf) => pf.file?.abort()));
    while (this.closing.size > 0 || this.inFlight.size > 0) await Promise.all([...this.closing, ...this.inFlight]);
    await this.sealing;
    // Best effort: an undeleted one is an orphan file, unreferenced by the table.
    await Promise.all(this.completed.map((c) => this.options.fileIO.delete(c.file.filePath).catch(() => undefined)));
    this.completed = [];
    if (this.usesSharedPool) {
      this.usesSharedPool = false;
      this.pool = undefined;
      await releaseSharedParquetWriterPool();
    }
  }

  private throwIfUnusable(): void {
    if (this.closed) throw new DataFileWriterClosedError();
    if (this.failure) throw this.failure.error;
  }

  private recordFailure(error: unknown): void {
    this.failure ??= { error };
  }

  private partitionFile(key: string, values: readonly PartitionValue[]): PartitionFile {
    let pf = this.open.get(key);
    if (pf === undefined) {
      const partitionPath = this.keyer.path(values);
      const name = `${this.options.fileNamePrefix ?? ''}${randomUUID()}.parquet`;
      pf = {
        key,
        values,
        seq: this.nextSeq++,
        filePath: `${this.location}/data/${partitionPath ? `${partitionPath}/` : ''}${name}`,
        builder: new RecordBatchBuilder(this.options.schema),
        file: undefined,
        rows: 0,
        arrowBytes: 0,
        takenBytes: 0,
        storedBytes: 0,
        nanValueCounts: new Map(),
      };
      this.open.set(key, pf);
    }
    return pf;
  }

  /** Parquet bytes the file will have with every row shipped or building: at its own ratio once a row group is stored. */
  private estimatedFileBytes(pf: PartitionFile): number {
    const ratio = pf.storedBytes > 0 ? pf.storedBytes / pf.takenBytes : this.sizeRatio;
    return ratio * (pf.arrowBytes + pf.builder.estimatedBytes());
  }

  /** Seals the partition's building rows into a batch and hands it to the file's encoder (without waiting). */
  private ship(pf: PartitionFile): void {
    if (pf.builder.length === 0) return;
    const { batch, nanValueCounts } = pf.builder.finish();
    for (const [id, n] of nanValueCounts) pf.nanValueCounts.set(id, (pf.nanValueCounts.get(id) ?? 0) + n);
    const ipc = tableToIPC(new Table([batch]), 'stream');
    pf.rows += batch.numRows;
    pf.arrowBytes += ipc.byteLength;
    pf.file ??= this.openFile(pf.filePath);
    const bytes = ipc.byteLength;
    this.inFlightBytes += bytes;
    const taken: Promise<void> = pf.file
      .write(ipc)
      .then(
        (stored) => {
          pf.takenBytes += bytes;
          pf.storedBytes = stored;
        },
        (error: unknown) => this.recordFailure(error),
      )
      .finally(() => {
        this.inFlightBytes -= bytes;
        this.inFlight.delete(taken);
      });
    this.inFlight.add(taken);
  }

  /** Ships the partition's last rows and closes its file in the background; the partition's next rows start a new file. */
  private roll(pf: PartitionFile): void {
    this.ship(pf);
    if (this.open.get(pf.key) === pf) this.open.delete(pf.key);
    const file = pf.file;
    if (file === undefined) return;
    // The file belongs to the next seal after it was rolled.
    const epoch = this.epoch;
    const closing: Promise<void> = file
      .close()
      .then(
        (written) => this.complete(pf, written, epoch),
        (error: unknown) => this.recordFailure(error),
      )
      .finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  /** Ships the largest partition's rows while over budget; waits for encoders when shipped batches fill it. */
  private async enforceBudget(): Promise<void> {
    for (;;) {
      this.throwIfUnusable();
      let building = 0;
      let largest: PartitionFile | undefined;
      let largestBytes = 0;
      for (const pf of this.open.values()) {
        const bytes = pf.builder.estimatedBytes();
        building += bytes;
        if (bytes > largestBytes) (largest = pf), (largestBytes = bytes);
      }
      if (building + this.inFlightBytes <= this.budget) return;
      if (largest !== undefined && (building > this.budget / 2 || this.inFlight.size === 0)) this.ship(largest);
      else await Promise.race(this.inFlight);
    }
  }

  private openFile(location: string): OpenParquetFile {
    const spec: ParquetFileSpec = {
      location,
      fields: this.options.schema.fields,
      parquet: this.parquet,
      ...(this.options.truncateLength !== undefined ? { truncateLength: this.options.truncateLength } : {}),
    };
    const onFailure = (error: unknown) => this.recordFailure(error);
    if (this.inWorker) return (this.pool ?? this.sharedPool()).open(spec, this.description!, onFailure);
    return openInThreadParquetFile(this.options.fileIO.create(location), spec, onFailure);
  }

  private sharedPool(): ParquetWriterPool {
    const pool = acquireSharedParquetWriterPool(this.options.parquetWorkers);
    this.pool = pool;
    this.usesSharedPool = true;
    return pool;
  }

  private complete(pf: PartitionFile, written: WrittenParquetFile, epoch: number): void {
    const { stats, sizeBytes } = written;
    if (stats.recordCount !== pf.rows) {
      this.recordFailure(new ParquetRowCountError(`${pf.filePath}: the file holds ${stats.recordCount} rows but ${pf.rows} were shipped to it`));
      return;
    }
    if (pf.arrowBytes > 0) this.sizeRatio = 0.5 * this.sizeRatio + 0.5 * (sizeBytes / pf.arrowBytes);
    const nanValueCounts = new Map<number, number>();
    for (const [id, n] of pf.nanValueCounts) if (stats.valueCounts.has(id)) nanValueCounts.set(id, n);
    this.completed.push({
      seq: pf.seq,
      epoch,
      file: {
        content: 0,
        filePath: pf.filePath,
        fileFormat: 'PARQUET',
        partition: this.keyer.toRecord(pf.values),
        specId: this.keyer.spec['spec-id'],
        recordCount: stats.recordCount,
        fileSizeInBytes: sizeBytes,
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
