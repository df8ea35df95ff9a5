import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFileWriter } from '../../../src/iceberg/data-file-writer.js';
import { ParquetEncodeError, ParquetEncodePool, type EncodedParquet, type ParquetEncodeJob, type ParquetEncodeService } from '../../../src/iceberg/parquet-encode-pool.js';
import { encodeParquetFromIpc, type ParquetCodec } from '../../../src/iceberg/parquet-encoder.js';
import { readParquetFooterStats } from '../../../src/iceberg/parquet-footer-stats.js';
import type { DataFile } from '../../../src/iceberg/data-file.js';
import type { PartitionSpec, Schema } from '../../../src/iceberg/schema.js';
import { MemoryFileIO } from './support/memory-file-io.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'order_id', required: true, type: 'string' },
    { id: 2, name: 'amount', required: true, type: 'decimal(12, 2)' },
    { id: 3, name: 'created_at', required: true, type: 'timestamptz' },
    { id: 4, name: 'weight', required: false, type: 'double' },
  ],
};
const byDay: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'created_at_day', transform: 'day' }] };

function rows(start: number, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => {
    const i = start + k;
    return { order_id: `order-${i}`, amount: (i % 10_000) / 100, created_at: Date.UTC(2024, 0, 5) + i * 60_000, weight: i % 7 === 0 ? NaN : i % 5 === 0 ? null : i / 3 };
  });
}

/** Writes the same rows with the given options; returns the files and their bytes, in flush order. */
async function writeRows(options: Partial<ConstructorParameters<typeof DataFileWriter>[0]>): Promise<{ files: DataFile[]; bytes: Uint8Array[] }> {
  const io = new MemoryFileIO();
  const writer = new DataFileWriter({ schema, spec: byDay, tableLocation: 'mem://t', fileIO: io, batchRows: 400, ...options });
  const files: DataFile[] = [];
  for (let start = 0; start < 12_000; start += 1_000) {
    assert.equal((await writer.append(rows(start, 1_000))).rejected.length, 0);
    if (start === 6_000) files.push(...(await writer.flush()));
  }
  files.push(...(await writer.flush()));
  await writer.close();
  return { files, bytes: await Promise.all(files.map((f) => io.read(f.filePath))) };
}

/** A DataFile without its random path, for comparing two writers. */
function comparable(f: DataFile): unknown {
  const { filePath: _path, ...rest } = f;
  return rest;
}

// Files roll at flushes here: size-based rolling depends on the Parquet/Arrow size ratio, which
// worker mode learns later (when an encode comes back), so size-rolled files may split differently.
test('worker mode writes the same files (bytes, stats, order) as inline mode', async () => {
  const inline = await writeRows({ encodeInWorker: false });
  const worker = await writeRows({ encodeInWorker: true });
  const days = 1 + Math.floor((12_000 * 60) / 86_400);
  assert.equal(new Set(inline.files.map((f) => f.partition.created_at_day)).size, days);
  assert.equal(inline.files.length, days + 1, 'the flush at row 7,000 splits one day');
  assert.equal(worker.files.length, inline.files.length);
  assert.deepEqual(worker.files.map(comparable), inline.files.map(comparable));
  worker.bytes.forEach((b, i) => assert.deepEqual(b, inline.bytes[i], `file ${i} differs`));
  assert.equal(worker.files.reduce((s, f) => s + f.recordCount, 0), 12_000);
  assert.ok(worker.files.some((f) => (f.nanValueCounts.get(4) ?? 0) > 0), 'NaN counts kept in worker mode');
});

test('an encode error in the worker surfaces in the next append and in every flush after it', async () => {
  const writer = new DataFileWriter({ schema, tableLocation: 'mem://t', fileIO: new MemoryFileIO(), encodeInWorker: true, parquet: { codec: 'NOPE' as ParquetCodec } });
  await writer.append(rows(0, 10));
  const handedOff = writer.flush();
  await assert.rejects(handedOff, (e: Error) => e instanceof ParquetEncodeError && /Unknown Parquet codec NOPE/.test(e.message));
  await assert.rejects(writer.append(rows(10, 10)), ParquetEncodeError);
  await assert.rejects(writer.flush(), ParquetEncodeError, 'a lost file must never let a later flush succeed');
  await writer.close();
});

test('an error after hand-off (file write) surfaces in the next append, not lost', async () => {
  const io = new MemoryFileIO();
  let writes = 0;
  io.write = async () => {
    writes++;
    throw new Error('disk full');
  };
  const writer = new DataFileWriter({ schema, tableLocation: 'mem://t', fileIO: io, encodeInWorker: true, targetFileSizeBytes: 1024, batchRows: 200 });
  // The first append rolls files and returns before they are written; a later call reports the failure.
  await writer.append(rows(0, 200));
  assert.equal(writes, 0);
  assert.equal(writer.encodesInFlight, 1);
  while (writer.encodesInFlight > 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(writes, 1);
  await assert.rejects(writer.append(rows(200, 10)), /disk full/);
  await assert.rejects(writer.flush(), /disk full/);
  await writer.close();
});

test('a worker that dies fails the pending encode; the pool starts a fresh worker for the next one', async () => {
  const exiting = new URL('./support/exiting-encode-worker.js', import.meta.url);
  const dying = new ParquetEncodePool({ workerUrl: exiting });
  const writer = new DataFileWriter({ schema, tableLocation: 'mem://t', fileIO: new MemoryFileIO(), encodePool: dying });
  assert.equal(writer.encodesInWorker, true);
  await writer.append(rows(0, 10));
  await assert.rejects(writer.flush(), (e: Error) => e instanceof ParquetEncodeError && /exited \(code 7\)/.test(e.message));
  await writer.close();
  await dying.close();

  const pool = new ParquetEncodePool();
  try {
    const healthy = new DataFileWriter({ schema, tableLocation: 'mem://t', fileIO: new MemoryFileIO(), encodePool: pool });
    await healthy.append(rows(0, 10));
    assert.equal((await healthy.flush())[0]!.recordCount, 10);
    await healthy.close();
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.encode({ ipc: new Uint8Array(8), fields: schema.fields }), /closed/);
});

/** Encodes inline but only when the test lets it, to observe the writer's in-flight bound. */
class GatedEncoder implements ParquetEncodeService {
  readonly waiting: (() => void)[] = [];
  started = 0;
  async encode(job: ParquetEncodeJob): Promise<EncodedParquet> {
    this.started++;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    const bytes = encodeParquetFromIpc(job.ipc, job.parquet);
    return { bytes, stats: readParquetFooterStats(bytes, { fields: job.fields }, { truncateLength: job.truncateLength }) };
  }
  releaseOne(): void {
    this.waiting.shift()?.();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('append hands files off without waiting, up to maxEncodesInFlight, then waits', async () => {
  const gate = new GatedEncoder();
  const writer = new DataFileWriter({ schema, tableLocation: 'mem://t', fileIO: new MemoryFileIO(), encodePool: gate, maxEncodesInFlight: 2, targetFileSizeBytes: 1, batchRows: 100 });
  // Each 100-row append seals a batch and, with a 1-byte target, rolls it into its own file.
  await writer.append(rows(0, 100));
  await writer.append(rows(100, 100));
  assert.equal(writer.encodesInFlight, 2);
  assert.equal(writer.bufferedRows, 200);
  let thirdDone = false;
  const third = writer.append(rows(200, 100)).then(() => (thirdDone = true));
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(thirdDone, false, 'a third file must wait for an encode slot');
  assert.equal(gate.started, 2);
  gate.releaseOne();
  await third;
  assert.equal(gate.started, 3);
  assert.ok(writer.encodesInFlight <= 2);
  let flushed = false;
  const flush = writer.flush().then((f) => ((flushed = true), f));
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(flushed, false, 'flush awaits the encodes in flight');
  while (gate.waiting.length > 0 || !flushed) {
    gate.releaseOne();
    await tick();
  }
  const files = await flush;
  assert.deepEqual(files.map((f) => f.recordCount), [100, 100, 100]);
  assert.deepEqual(files.map((f) => f.lowerBounds.size > 0), [true, true, true]);
  assert.equal(writer.encodesInFlight, 0);
  await writer.close();
});

test('a job that never closes its writer still exits (idle workers are unref\'d)', async () => {
  const writerUrl = new URL('../../../src/iceberg/data-file-writer.js', import.meta.url).href;
  const ioUrl = new URL('./support/memory-file-io.js', import.meta.url).href;
  const script = `
    const { DataFileWriter } = await import(${JSON.stringify(writerUrl)});
    const { MemoryFileIO } = await import(${JSON.stringify(ioUrl)});
    const w = new DataFileWriter({ schema: ${JSON.stringify(schema)}, tableLocation: 'mem://t', fileIO: new MemoryFileIO() });
    if (!w.encodesInWorker) throw new Error('expected worker mode');
    await w.append([{ order_id: 'a', amount: 1, created_at: 0 }]);
    const files = await w.flush();
    console.log(files.length);`;
  const dir = await mkdtemp(join(tmpdir(), 'encode-exit-'));
  try {
    const file = join(dir, 'job.mjs');
    await writeFile(file, script);
    const child = spawnSync(process.execPath, [file], { timeout: 20_000, encoding: 'utf8' });
    assert.equal(child.error, undefined, `child did not exit: ${child.error?.message}`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '1');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
