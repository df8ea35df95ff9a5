/** The DataFileWriter's memory budget: batches ship early under pressure, and append waits for encoders. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tableFromIPC } from 'apache-arrow';
import { DataFileWriter } from '../../../src/iceberg/data-file-writer.js';
import type { FileIODescription } from '../../../src/iceberg/file-io.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import type { OpenParquetFile, ParquetFileSpec } from '../../../src/iceberg/open-parquet-file.js';
import type { ParquetFileOpener } from '../../../src/iceberg/parquet-writer-pool.js';
import type { PartitionSpec, Schema } from '../../../src/iceberg/schema.js';
import { StreamingParquetFile } from '../../../src/iceberg/streaming-parquet-file.js';
import { withTempDir } from './support/temp-dir.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'shard', required: true, type: 'int' },
    { id: 3, name: 'payload', required: true, type: 'string' },
  ],
};
const byShard: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'shard', transform: 'identity' }] };
const PAYLOAD = 'x'.repeat(1000);

function rows(start: number, n: number, shards: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => ({ id: BigInt(start + k), shard: (start + k) % shards, payload: PAYLOAD }));
}

/**
 * Opens real (inline) files, but hands each batch to the encoder only when the test releases it,
 * recording the rows of every batch, so a test can hold batches "in flight".
 */
class GatedOpener implements ParquetFileOpener {
  readonly batchRows: number[] = [];
  private readonly held: (() => void)[] = [];
  gated = true;

  open(spec: ParquetFileSpec, _io: FileIODescription, onFailure: (error: unknown) => void): OpenParquetFile {
    const file = new StreamingParquetFile(new LocalFileIO().create(spec.location), spec, onFailure);
    return {
      write: async (ipc) => {
        this.batchRows.push(tableFromIPC(ipc).numRows);
        if (this.gated) await new Promise<void>((resolve) => this.held.push(resolve));
        return file.write(ipc);
      },
      close: () => file.close(),
      abort: () => file.abort(),
    };
  }

  get holding(): number {
    return this.held.length;
  }

  releaseAll(): void {
    this.gated = false;
    for (const release of this.held.splice(0)) release();
  }
}

const settle = () => new Promise((r) => setTimeout(r, 20));

const withDir = <T>(fn: (dir: string) => Promise<T>): Promise<T> => withTempDir('icebudget-', fn);

test('batches handed to encoders count against the budget: append waits until encoders take them', () =>
  withDir(async (dir) => {
    const gate = new GatedOpener();
    const budget = 1024 * 1024;
    const writer = new DataFileWriter({ schema, tableLocation: dir, fileIO: new LocalFileIO(), writerPool: gate, writeBufferBytes: budget, batchRows: 100 });
    let appended = 0;
    let blocked: Promise<unknown> | undefined;
    // ~100 KiB per 100-row batch: the 11th batch would exceed 1 MiB in flight.
    for (let start = 0; start < 2_000 && blocked === undefined; start += 100) {
      const append = writer.append(rows(start, 100, 1));
      const done = await Promise.race([append.then(() => true), settle().then(() => false)]);
      if (done) appended += 100;
      else blocked = append;
      assert.ok(writer.bufferedBytes <= budget + 110 * 1024, `buffered ${writer.bufferedBytes}`);
    }
    assert.ok(blocked, 'append must wait once the budget is full');
    assert.ok(appended >= 800 && appended <= 1_100, `appended ${appended} rows before waiting`);
    assert.equal(gate.holding, gate.batchRows.length);
    gate.releaseAll();
    await blocked;
    const files = await writer.flush();
    assert.equal(files.reduce((s, f) => s + f.recordCount, 0), appended + 100);
    assert.equal(writer.bufferedBytes, 0);
    await writer.close();
  }));

test('over budget, the partition with the most buffered rows ships an early batch', () =>
  withDir(async (dir) => {
    const gate = new GatedOpener();
    gate.gated = false;
    const budget = 1024 * 1024;
    const shards = 20;
    const writer = new DataFileWriter({ schema, spec: byShard, tableLocation: dir, fileIO: new LocalFileIO(), writerPool: gate, writeBufferBytes: budget, batchRows: 10_000 });
    // 20 partitions × 100 rows × ~1 KiB = ~2 MiB building: twice the budget, far below batchRows.
    for (let start = 0; start < 4_000; start += 200) {
      await writer.append(rows(start, 200, shards));
      assert.ok(writer.bufferedBytes <= budget, `buffered ${writer.bufferedBytes} after append`);
    }
    assert.ok(gate.batchRows.length >= shards, `early batches: ${gate.batchRows.length}`);
    assert.ok(gate.batchRows.every((n) => n < 10_000));
    const files = await writer.flush();
    assert.equal(files.length, shards);
    assert.equal(files.reduce((s, f) => s + f.recordCount, 0), 4_000);
    for (const f of files) assert.equal(f.recordCount, 200);
    await writer.close();
  }));

test('by default a file ships batches of 8,192 rows from its first one on, so a seal has at most one batch left to encode', () =>
  withDir(async (dir) => {
    const gate = new GatedOpener();
    gate.gated = false;
    // Defaults only (budget, batch rows): small rows, one partition, far below the budget.
    const writer = new DataFileWriter({ schema, tableLocation: dir, fileIO: new LocalFileIO(), writerPool: gate });
    const n = 30_000;
    for (let start = 0; start < n; start += 1_000) {
      await writer.append(Array.from({ length: 1_000 }, (_, k) => ({ id: BigInt(start + k), shard: 0, payload: 'p' })));
    }
    // Files close at every checkpoint, often before a larger first batch would fill: then every row
    // of the file was left to encode at the seal (a 65,536-row first batch shipped nothing here).
    assert.deepEqual(gate.batchRows, [8_192, 8_192, 8_192]);
    const files = await writer.seal();
    assert.deepEqual(gate.batchRows, [8_192, 8_192, 8_192, n - 3 * 8_192]);
    assert.equal(files.reduce((s, f) => s + f.recordCount, 0), n);
    await writer.close();
  }));

test('files roll at the target size while the memory budget stays far smaller', () =>
  withDir(async (dir) => {
    const budget = 256 * 1024;
    const writer = new DataFileWriter({ schema, tableLocation: dir, fileIO: new LocalFileIO(), writeInWorker: false, writeBufferBytes: budget, targetFileSizeBytes: 2 * 1024 * 1024, batchRows: 100 });
    let maxBuffered = 0;
    for (let start = 0; start < 20_000; start += 500) {
      // Random base64 compresses little: the files are about as large as the rows.
      await writer.append(Array.from({ length: 500 }, (_, k) => ({ id: BigInt(start + k), shard: 0, payload: randomBytes(300).toString('base64') })));
      maxBuffered = Math.max(maxBuffered, writer.bufferedBytes);
    }
    const files = await writer.flush();
    assert.ok(maxBuffered <= budget, `buffered up to ${maxBuffered}`);
    assert.ok(files.length >= 3, `expected several files, got ${files.length}`);
    assert.equal(files.reduce((s, f) => s + f.recordCount, 0), 20_000);
    // About the target: a file closes within a row group (an eighth of the target) and a batch of it.
    for (const f of files.slice(0, -1)) assert.ok(f.fileSizeInBytes > 1.5 * 1024 * 1024 && f.fileSizeInBytes < 2.6 * 1024 * 1024, `file of ${f.fileSizeInBytes} bytes`);
    await writer.close();
  }));
