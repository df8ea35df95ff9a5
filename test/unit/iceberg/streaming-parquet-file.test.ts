import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableFromArrays, tableToIPC } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { readParquet } from 'parquet-wasm';
import type { OutputFile } from '../../../src/iceberg/file-io.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { ParquetFileClosedError, ParquetSchemaMismatchError, type ParquetFileSpec } from '../../../src/iceberg/open-parquet-file.js';
import { RecordBatchBuilder } from '../../../src/iceberg/record-batch-builder.js';
import { StreamingParquetFile } from '../../../src/iceberg/streaming-parquet-file.js';
import type { Schema } from '../../../src/iceberg/schema.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'order_id', required: true, type: 'string' },
    { id: 2, name: 'status', required: true, type: 'string' },
    { id: 3, name: 'created_at', required: true, type: 'timestamptz' },
  ],
};

const STATUSES = ['CREATED', 'PAID', 'SHIPPED'];

/** Rows with barely compressible ids: the encoder only emits row groups of a few KiB or more as chunks of their own. */
function ipcOf(start: number, n: number): Uint8Array {
  const builder = new RecordBatchBuilder(schema);
  for (let i = start; i < start + n; i++) builder.append({ order_id: `order-${i}-${randomBytes(24).toString('hex')}`, status: STATUSES[i % 3], created_at: Date.UTC(2024, 0, 5) + i * 1000 });
  return tableToIPC(new Table([builder.finish().batch]), 'stream');
}

/** An OutputFile that records what reaches it and when, keeping the bytes in memory. */
class RecordingOutput implements OutputFile {
  readonly location = 'mem://t/data/x.parquet';
  readonly chunks: Uint8Array[] = [];
  state: 'open' | 'closed' | 'aborted' = 'open';
  async write(chunk: Uint8Array): Promise<void> {
    assert.equal(this.state, 'open');
    this.chunks.push(chunk.slice());
  }
  async close(): Promise<number> {
    this.state = 'closed';
    return this.bytes().byteLength;
  }
  async abort(): Promise<void> {
    if (this.state === 'open') this.state = 'aborted';
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer; // a copy: a Buffer may be a view into a shared pool
}

/** Waits until `condition` holds (the encoder stores row groups asynchronously), failing after a second. */
async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting until ${what}`);
}

const spec = (parquet: ParquetFileSpec['parquet'] = {}): ParquetFileSpec => ({ location: 'mem://t/data/x.parquet', fields: schema.fields, parquet });

test('row groups reach the output while the file is open; the footer holds every row and the stats', async () => {
  const output = new RecordingOutput();
  const file = new StreamingParquetFile(output, spec({ rowGroupRows: 1000 }));
  for (let b = 0; b < 5; b++) await file.write(ipcOf(b * 1000, 1000));
  await eventually(() => output.chunks.length === 5, 'five row groups are stored before close');
  const written = await file.close();
  assert.equal(output.state, 'closed');
  const bytes = output.bytes();
  assert.equal(written.sizeBytes, bytes.byteLength);
  const meta = parquetMetadata(arrayBufferOf(bytes));
  assert.deepEqual(meta.row_groups.map((g) => Number(g.num_rows)), [1000, 1000, 1000, 1000, 1000]);
  assert.equal(written.stats.recordCount, 5000);
  assert.equal(written.stats.splitOffsets.length, 5);
  assert.equal(written.stats.splitOffsets[0], 4);
  assert.equal(written.stats.valueCounts.get(1), 5000);
  assert.equal(readParquet(bytes).numBatches > 0, true);
});

test('dictionary encoding only where the first batch repeats values', async () => {
  const output = new RecordingOutput();
  const file = new StreamingParquetFile(output, spec());
  await file.write(ipcOf(0, 3000));
  await file.close();
  const bytes = output.bytes();
  const meta = parquetMetadata(arrayBufferOf(bytes));
  const encodings = Object.fromEntries(meta.row_groups[0]!.columns.map((c) => [c.meta_data!.path_in_schema[0], c.meta_data!.encodings]));
  assert.ok(encodings.status!.includes('RLE_DICTIONARY'), `status: ${encodings.status}`);
  assert.ok(!encodings.order_id!.includes('RLE_DICTIONARY'), `order_id: ${encodings.order_id}`);
  assert.ok(!encodings.created_at!.includes('RLE_DICTIONARY'), `created_at: ${encodings.created_at}`);
});

test('created_by parses as parquet-java expects: "<app> version <semver> (build <hash>)"', async () => {
  const output = new RecordingOutput();
  const file = new StreamingParquetFile(output, spec({ createdBy: undefined }));
  await file.write(ipcOf(0, 10));
  await file.close();
  const bytes = output.bytes();
  const createdBy = parquetMetadata(arrayBufferOf(bytes)).created_by ?? '';
  // parquet-java's VersionParser.FORMAT, and a semantic version as its SemanticVersion.parse wants.
  const match = /^(.*?)\s+version\s*(?:([^(]*?)\s*(?:\(\s*build\s*([^)]*?)\s*\))?)?$/.exec(createdBy);
  assert.ok(match, `unparsable created_by ${JSON.stringify(createdBy)}`);
  assert.equal(match[1], 'streamline');
  assert.match(match[2] ?? '', /^\d+\.\d+\.\d+/);
  assert.ok((match[3] ?? '').length > 0);
});

test('a batch with another schema fails the write, the close, and discards the output', async () => {
  const output = new RecordingOutput();
  const file = new StreamingParquetFile(output, spec());
  await file.write(ipcOf(0, 100));
  const other = tableToIPC(tableFromArrays({ x: new Int32Array([1, 2, 3]) }), 'stream');
  await assert.rejects(file.write(other), ParquetSchemaMismatchError);
  await assert.rejects(file.write(ipcOf(100, 10)), ParquetSchemaMismatchError);
  await assert.rejects(file.close(), ParquetSchemaMismatchError);
  assert.equal(output.state, 'aborted');
});

test('abort leaves nothing behind (local: no file, no temp file); a closed file cannot be written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'streaming-parquet-'));
  try {
    const io = new LocalFileIO();
    const aborted = new StreamingParquetFile(io.create(join(dir, 'a.parquet')), { ...spec({ rowGroupRows: 100 }), location: join(dir, 'a.parquet') });
    for (let b = 0; b < 3; b++) await aborted.write(ipcOf(b * 100, 100));
    await eventually(async () => (await readdir(dir)).length === 1, 'the temp file grows while the file is open');
    await aborted.abort();
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(aborted.write(ipcOf(0, 1)), ParquetFileClosedError);

    const closed = new StreamingParquetFile(io.create(join(dir, 'b.parquet')), { ...spec(), location: join(dir, 'b.parquet') });
    await closed.write(ipcOf(0, 10));
    assert.equal((await closed.close()).stats.recordCount, 10);
    await assert.rejects(closed.write(ipcOf(10, 1)), ParquetFileClosedError);
    await closed.abort(); // no-op once closed
    assert.deepEqual(await readdir(dir), ['b.parquet']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
