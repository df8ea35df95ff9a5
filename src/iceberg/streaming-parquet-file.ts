/**
 * One Parquet file encoded as it grows, on the calling thread: parquet-wasm's
 * `transformParquetStream` (arrow-rs' AsyncArrowWriter) pulls Arrow batches one at a time and
 * emits one chunk per finished row group, then the footer; each chunk goes straight to the
 * OutputFile (an S3 multipart part filling, a local temp file growing). The encoder gets its next
 * batch only once the chunk being stored is, so a slow upload holds the encoder back (and with
 * it the writer's budget), not memory.
 *
 * parquet-wasm swallows encode errors — a batch it cannot write is dropped silently — so every
 * batch's schema is checked against the file's before it goes in, and at close the footer's row
 * count must equal the rows fed. Iceberg statistics come from the footer, which is in the chunks
 * emitted after the input ended (the last row group and the footer).
 */
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { Table as WasmTable, transformParquetStream, type RecordBatch as WasmRecordBatch, type WriterProperties } from 'parquet-wasm';
import { toArrowSchema } from './arrow-schema.js';
import { dictionaryColumns } from './dictionary-columns.js';
import type { OutputFile } from './file-io.js';
import { ParquetFileClosedError, ParquetRowCountError, ParquetSchemaMismatchError, ParquetWriteError, type OpenParquetFile, type ParquetFileSpec, type WrittenParquetFile } from './open-parquet-file.js';
import { readParquetFooterStats } from './parquet-footer-stats.js';
import { parquetWriterProperties } from './parquet-writer-properties.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  // Callers may drop a write's promise; its rejection is reported by the next call anyway.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** The schema as arrow-rs serializes it: batches are compared with it byte for byte. */
function wasmSchemaBytes(table: WasmTable): Uint8Array {
  return table.schema.intoIPCStream();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

interface QueuedBatch {
  readonly ipc: Uint8Array;
  readonly taken: Deferred<number>;
}

/** A Parquet file streamed into an OutputFile by the WebAssembly encoder on this thread. */
export class StreamingParquetFile implements OpenParquetFile {
  private readonly queue: QueuedBatch[] = [];
  /** The batch the encoder is writing; it is taken when the encoder asks for the next one. */
  private encoding: QueuedBatch | undefined;
  private wakePull: (() => void) | undefined;
  private ending = false;
  private inputEnded = false;
  private closed = false;
  private failure: { readonly error: unknown } | undefined;
  private pump: Promise<void> | undefined;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** The chunk being stored: the encoder gets no next batch before it is (it would run ahead of storage, into memory). */
  private storing: Promise<void> | undefined;
  private expectedSchema: Uint8Array | undefined;
  private rowsIn = 0;
  private bytesOut = 0;
  /** Chunks emitted after the input ended: the last row group and the footer. */
  private readonly tail: Uint8Array[] = [];

  /** `onFailure` hears of a failure at once, also one after every write was taken (a row group upload that failed). */
  constructor(
    private readonly output: OutputFile,
    private readonly spec: ParquetFileSpec,
    private readonly onFailure: (error: unknown) => void = () => undefined,
  ) {}

  write(ipc: Uint8Array): Promise<number> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ending) return Promise.reject(new ParquetFileClosedError(`cannot write to ${this.spec.location}: it is closing`));
    const batch: QueuedBatch = { ipc, taken: deferred() };
    this.queue.push(batch);
    if (this.pump === undefined) this.start(ipc);
    this.wake();
    return batch.taken.promise;
  }

  async close(): Promise<WrittenParquetFile> {
    this.throwIfFailed();
    if (this.ending) throw new ParquetFileClosedError(`cannot close ${this.spec.location} twice`);
    this.ending = true;
    if (this.pump === undefined) throw this.fail(new ParquetWriteError(`${this.spec.location}: a Parquet file needs at least one batch`));
    this.wake();
    await this.pump;
    this.throwIfFailed();
    try {
      const stats = readParquetFooterStats(Buffer.concat(this.tail), this.spec, { truncateLength: this.spec.truncateLength });
      if (stats.recordCount !== this.rowsIn) {
        throw new ParquetRowCountError(`${this.spec.location}: the Parquet footer holds ${stats.recordCount} rows but ${this.rowsIn} were written (the encoder dropped some)`);
      }
      const sizeBytes = await this.output.close();
      this.closed = true;
      return { sizeBytes, stats };
    } catch (error) {
      throw this.fail(error);
    }
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.fail(new ParquetFileClosedError(`${this.spec.location} was aborted`), false);
    await this.pump;
    await this.output.abort();
  }

  private start(firstIpc: Uint8Array): void {
    try {
      const auto = (this.spec.parquet.dictionary ?? 'auto') === 'auto';
      const properties = parquetWriterProperties(this.spec.parquet, auto ? dictionaryColumns(tableFromIPC(firstIpc).batches[0]!) : {});
      const declared = WasmTable.fromIPCStream(tableToIPC(new Table(toArrowSchema(this.spec)), 'stream'));
      try {
        this.expectedSchema = wasmSchemaBytes(declared);
      } finally {
        declared.free();
      }
      const source = new ReadableStream<WasmRecordBatch>({ pull: (controller) => this.pull(controller) }, { highWaterMark: 0 });
      this.pump = this.run(source, properties).catch((error: unknown) => void this.fail(error));
    } catch (error) {
      this.pump = Promise.resolve();
      this.fail(error);
    }
  }

  private async run(source: ReadableStream<WasmRecordBatch>, properties: WriterProperties): Promise<void> {
    const encoded = (await transformParquetStream(source, properties)) as ReadableStream<Uint8Array>;
    this.reader = encoded.getReader();
    if (this.failure) await this.reader.cancel();
    for (;;) {
      const { done, value } = await this.reader.read();
      if (done || this.failure) return;
      this.storing = this.output.write(value);
      await this.storing;
      this.storing = undefined;
      this.bytesOut += value.byteLength;
      if (this.inputEnded) this.tail.push(value);
    }
  }

  /** The encoder wants the next batch: the previous one is written into the open row group. */
  private async pull(controller: ReadableStreamDefaultController<WasmRecordBatch>): Promise<void> {
    await this.storing?.catch(() => undefined);
    this.encoding?.taken.resolve(this.bytesOut);
    this.encoding = undefined;
    while (this.queue.length === 0 && !this.ending && !this.failure) await new Promise<void>((resolve) => (this.wakePull = resolve));
    // Erroring the input (not just leaving it) lets the encoder's task finish and free its memory.
    if (this.failure) return controller.error(this.failure.error);
    const next = this.queue.shift();
    if (next === undefined) {
      this.inputEnded = true;
      return controller.close();
    }
    this.encoding = next;
    try {
      for (const batch of this.toWasmBatches(next.ipc)) controller.enqueue(batch);
    } catch (error) {
      controller.error(this.fail(error));
    }
  }

  private toWasmBatches(ipc: Uint8Array): WasmRecordBatch[] {
    const table = WasmTable.fromIPCStream(ipc);
    try {
      if (!sameBytes(wasmSchemaBytes(table), this.expectedSchema!)) {
        throw new ParquetSchemaMismatchError(`${this.spec.location}: a batch's Arrow schema differs from the table schema the file was opened with`);
      }
      const batches = table.recordBatches();
      for (const batch of batches) this.rowsIn += batch.numRows;
      return batches;
    } finally {
      // The batches keep their data alive; without this the table's copy would stay in wasm memory (which never shrinks).
      table.free();
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private wake(): void {
    const wake = this.wakePull;
    this.wakePull = undefined;
    wake?.();
  }

  /** Records the first failure: pending writes reject, the encoder stops, the output is discarded. Returns the failure. */
  private fail(error: unknown, report = true): unknown {
    if (this.failure) return this.failure.error;
    this.failure = { error };
    if (report) this.onFailure(error);
    for (const batch of [this.encoding, ...this.queue.splice(0)]) batch?.taken.reject(error);
    this.encoding = undefined;
    this.wake();
    void this.reader?.cancel().catch(() => undefined);
    void this.output.abort().catch(() => undefined);
    return error;
  }
}
