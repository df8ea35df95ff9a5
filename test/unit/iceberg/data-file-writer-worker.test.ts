import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataFileWriter } from '../../../src/iceberg/data-file-writer.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { ParquetWriteError } from '../../../src/iceberg/open-parquet-file.js';
import { ParquetWriterPool } from '../../../src/iceberg/parquet-writer-pool.js';
import type { ParquetCodec } from '../../../src/iceberg/parquet-write-options.js';
import type { DataFile } from '../../../src/iceberg/data-file.js';
import type { PartitionSpec, Schema } from '../../../src/iceberg/schema.js';
import { withTempDir } from './support/temp-dir.js';

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

function rows(start: number, n: number, idBytes = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => {
    const i = start + k;
    return { order_id: `order-${i}${idBytes > 0 ? `-${randomBytes(idBytes).toString('hex')}` : ''}`, amount: (i % 10_000) / 100, created_at: Date.UTC(2024, 0, 5) + i * 60_000, weight: i % 7 === 0 ? NaN : i % 5 === 0 ? null : i / 3 };
  });
}

const withDir = <T>(fn: (dir: string) => Promise<T>): Promise<T> => withTempDir('icewriter-', fn);

/** Writes the same rows with the given options; returns the files and their bytes, in flush order. */
async function writeRows(dir: string, options: Partial<ConstructorParameters<typeof DataFileWriter>[0]>): Promise<{ files: DataFile[]; bytes: Uint8Array[] }> {
  const io = new LocalFileIO();
  const writer = new DataFileWriter({ schema, spec: byDay, tableLocation: dir, fileIO: io, batchRows: 400, ...options });
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

test('worker mode writes the same files (bytes, stats, order) as inline mode', () =>
  withDir(async (dir) => {
    const inline = await writeRows(join(dir, 'inline'), { writeInWorker: false });
    const worker = await writeRows(join(dir, 'worker'), { writeInWorker: true });
    const days = 1 + Math.floor((12_000 * 60) / 86_400);
    assert.equal(new Set(inline.files.map((f) => f.partition.created_at_day)).size, days);
    assert.equal(inline.files.length, days + 1, 'the flush at row 7,000 splits one day');
    assert.equal(worker.files.length, inline.files.length);
    assert.deepEqual(worker.files.map(comparable), inline.files.map(comparable));
    worker.bytes.forEach((b, i) => assert.deepEqual(b, inline.bytes[i], `file ${i} differs`));
    assert.equal(worker.files.reduce((s, f) => s + f.recordCount, 0), 12_000);
    assert.ok(worker.files.some((f) => (f.nanValueCounts.get(4) ?? 0) > 0), 'NaN counts kept in worker mode');
  }));

for (const writeInWorker of [false, true]) {
  const mode = writeInWorker ? 'worker' : 'inline';

  test(`an encoder error surfaces in the next call and in every flush after it (${mode})`, () =>
    withDir(async (dir) => {
      const writer = new DataFileWriter({ schema, tableLocation: dir, fileIO: new LocalFileIO(), writeInWorker, batchRows: 10, parquet: { codec: 'NOPE' as ParquetCodec } });
      // Inline, the append that ships the batch already fails; in a worker, a later call does.
      await writer.append(rows(0, 10)).catch(() => undefined);
      await assert.rejects(writer.flush(), (e: Error) => /Unknown Parquet codec NOPE/.test(e.message));
      await assert.rejects(writer.append(rows(10, 10)), /Unknown Parquet codec NOPE/);
      await assert.rejects(writer.flush(), /Unknown Parquet codec NOPE/, 'a lost file must never let a later flush succeed');
      await writer.close();
    }));

  test(`a failed upload surfaces in the next call, not lost (${mode})`, () =>
    withDir(async (dir) => {
      // The table folder is a plain file: creating the data file's folder fails once bytes arrive.
      await writeFile(join(dir, 't'), 'not a folder');
      const writer = new DataFileWriter({ schema, tableLocation: join(dir, 't'), fileIO: new LocalFileIO(), writeInWorker, batchRows: 200, parquet: { rowGroupRows: 100 } });
      // Row groups of ~10 KiB: the encoder emits them as they finish, not only at close.
      await writer.append(rows(0, 200, 50)); // returns before the row groups are stored
      // Polled until it surfaces: a worker on a loaded machine takes its time (500 ms were not always
      // enough in CI); what matters is that the failure comes out of a later call, not how soon.
      await assert.rejects(
        (async () => {
          const deadline = Date.now() + 20_000;
          while (Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 10));
            await writer.append([]);
          }
        })(),
        /ENOTDIR|not a directory/,
      );
      await assert.rejects(writer.flush(), /ENOTDIR|not a directory/);
      await writer.close();
    }));
}

test('a worker that dies fails its files; the pool starts a fresh worker for the next one', () =>
  withDir(async (dir) => {
    const exiting = new URL('./support/exiting-writer-worker.js', import.meta.url);
    const dying = new ParquetWriterPool({ size: 1, workerUrl: exiting });
    const writer = new DataFileWriter({ schema, tableLocation: dir, fileIO: new LocalFileIO(), writerPool: dying });
    assert.equal(writer.writesInWorker, true);
    await writer.append(rows(0, 10));
    await assert.rejects(writer.flush(), (e: Error) => e instanceof ParquetWriteError && /exited \(code 7\)/.test(e.message));
    await writer.close();
    await dying.close();

    const pool = new ParquetWriterPool({ size: 2 });
    try {
      const healthy = new DataFileWriter({ schema, spec: byDay, tableLocation: dir, fileIO: new LocalFileIO(), writerPool: pool });
      await healthy.append(rows(0, 3000)); // three days: files spread over both workers
      assert.deepEqual((await healthy.flush()).map((f) => f.recordCount), [1440, 1440, 120]);
      await healthy.close();
    } finally {
      await pool.close();
    }
    assert.throws(() => pool.open({ location: join(dir, 'x'), fields: schema.fields, parquet: {} }, { kind: 'local' }, () => undefined), /closed/);
  }));

test('close() aborts open files and deletes files finished since the last flush (worker mode)', () =>
  withDir(async (dir) => {
    const writer = new DataFileWriter({ schema, tableLocation: dir, fileIO: new LocalFileIO(), writeInWorker: true, targetFileSizeBytes: 4 * 1024, batchRows: 500 });
    for (let start = 0; start < 6_000; start += 1_000) await writer.append(rows(start, 1_000));
    // Files finished by size appear in the background (a cold worker first compiles the encoder).
    for (let i = 0; i < 500 && !(await readdir(join(dir, 'data')).catch(() => [])).some((name) => name.endsWith('.parquet')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok((await readdir(join(dir, 'data'))).some((name) => name.endsWith('.parquet')), 'files finished by size');
    await writer.append(rows(6_000, 100)); // and one open file
    await writer.close();
    assert.deepEqual(await readdir(join(dir, 'data')), [], 'no data file, no temp file left');
  }));

test("a job that never closes its writer still exits (idle workers are unref'd)", () =>
  withDir(async (dir) => {
    const writerUrl = new URL('../../../src/iceberg/data-file-writer.js', import.meta.url).href;
    const ioUrl = new URL('../../../src/iceberg/local-file-io.js', import.meta.url).href;
    const script = `
      const { DataFileWriter } = await import(${JSON.stringify(writerUrl)});
      const { LocalFileIO } = await import(${JSON.stringify(ioUrl)});
      const w = new DataFileWriter({ schema: ${JSON.stringify(schema)}, tableLocation: ${JSON.stringify(join(dir, 't'))}, fileIO: new LocalFileIO() });
      if (!w.writesInWorker) throw new Error('expected worker mode');
      await w.append([{ order_id: 'a', amount: 1, created_at: 0 }]);
      const files = await w.flush();
      await w.append([{ order_id: 'b', amount: 1, created_at: 0 }]);
      console.log(files.length);`;
    const file = join(dir, 'job.mjs');
    await writeFile(file, script);
    const child = spawnSync(process.execPath, [file], { timeout: 20_000, encoding: 'utf8' });
    assert.equal(child.error, undefined, `child did not exit: ${child.error?.message}`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '1');
  }));
