/**
 * The Parquet writer workers of a process, shared by its parallel subtasks: each subtask's pool
 * reaches them over ports (ParquetWorkerHost.connect), files of different pools share a worker
 * without mixing, and a worker that dies fails the files of every pool on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataFileWriter } from '../../../src/iceberg/data-file-writer.js';
import type { DataFile } from '../../../src/iceberg/data-file.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { ParquetWriteError } from '../../../src/iceberg/open-parquet-file.js';
import { ParquetWorkerHost } from '../../../src/iceberg/parquet-worker-host.js';
import { ParquetWriterPool } from '../../../src/iceberg/parquet-writer-pool.js';
import { BY_DAY, ORDERS_SCHEMA } from './support/sample-table.js';
import { withTempDir } from './support/temp-dir.js';

/** Rows of pool `tag` (in `customer`, so two pools' files differ), one a minute from 2024-01-05. */
function rows(tag: string, start: number, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => ({ order_id: start + k, customer: `${tag}-${start + k}`, amount: ((start + k) % 10_000) / 100, created_at: Date.UTC(2024, 0, 5) + (start + k) * 60_000 }));
}

/** Writes 3,000 rows of `tag` (three days, so three files) through `pool`, or inline without one. */
async function writeThrough(dir: string, tag: string, pool: ParquetWriterPool | undefined): Promise<{ files: DataFile[]; bytes: Uint8Array[] }> {
  const io = new LocalFileIO();
  const writer = new DataFileWriter({ schema: ORDERS_SCHEMA, spec: BY_DAY, tableLocation: join(dir, tag), fileIO: io, batchRows: 250, ...(pool ? { writerPool: pool } : { writeInWorker: false }) });
  for (let start = 0; start < 3_000; start += 500) assert.equal((await writer.append(rows(tag, start, 500))).rejected.length, 0);
  const files = await writer.flush();
  await writer.close();
  return { files, bytes: await Promise.all(files.map((f) => io.read(f.filePath))) };
}

const comparable = ({ filePath: _path, ...rest }: DataFile) => rest;

test('two subtask pools write on the same shared worker, each file whole and its own; the worker starts on first use', () =>
  withTempDir('parquet-host-', async (dir) => {
    const host = new ParquetWorkerHost(1);
    let wanted = 0;
    const pools = [0, 1].map(() => new ParquetWriterPool({ ports: host.connect(), onFirstUse: () => (wanted++, host.start()) }));
    try {
      assert.equal(host.started, false, 'no worker before a pool is used');
      assert.equal(pools[0]!.size, 1);
      // Both pools number their files from 1: the worker must keep them apart by port.
      const [a, b] = await Promise.all([writeThrough(dir, 'a', pools[0]), writeThrough(dir, 'b', pools[1])]);
      assert.equal(wanted, 2, 'each pool asked once');
      assert.equal(host.started, true);
      for (const [tag, shared] of [['a', a], ['b', b]] as const) {
        const inline = await writeThrough(join(dir, 'inline'), tag, undefined);
        assert.deepEqual(shared.files.map((f) => f.recordCount), [1440, 1440, 120]);
        assert.deepEqual(shared.files.map(comparable), inline.files.map(comparable), `pool ${tag}: stats`);
        shared.bytes.forEach((bytes, i) => assert.deepEqual(bytes, inline.bytes[i], `pool ${tag}: file ${i} differs from the inline writer's`));
      }
      // A subtask that connects after the workers started reaches them at once.
      const late = new ParquetWriterPool({ ports: host.connect() });
      assert.equal((await writeThrough(dir, 'c', late)).files.length, 3);
    } finally {
      await host.close();
    }
  }));

test("a shared worker that dies fails the files of every pool on it, and the pools open no more files", () =>
  withTempDir('parquet-host-', async (dir) => {
    const lost: Error[] = [];
    const host = new ParquetWorkerHost(1, (error) => lost.push(error), new URL('./support/exiting-writer-worker.js', import.meta.url));
    const pools = [0, 1].map(() => new ParquetWriterPool({ ports: host.connect(), onFirstUse: () => host.start() }));
    try {
      const writers = pools.map((pool, i) => new DataFileWriter({ schema: ORDERS_SCHEMA, tableLocation: join(dir, String(i)), fileIO: new LocalFileIO(), writerPool: pool }));
      await writers[0]!.append(rows('a', 0, 10));
      for (const writer of writers) {
        await assert.rejects(
          (async () => {
            await writer.append(rows('b', 0, 10));
            await writer.flush();
          })(),
          // Its files failed, or (when the port had closed before the file opened) the pool refused the file.
          (e: unknown) => e instanceof ParquetWriteError && /shares with the others of the process exited|every Parquet writer worker of the process has exited/.test(e.message),
        );
        await writer.close();
      }
      // The host hears of the exit on its own, possibly after the ports closed.
      for (let i = 0; i < 200 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(lost[0]?.message ?? '', /exited \(code 7\)/);
      assert.throws(
        () => pools[1]!.open({ location: join(dir, 'x'), fields: ORDERS_SCHEMA.fields, parquet: {} }, { kind: 'local' }, () => undefined),
        (e: unknown) => e instanceof ParquetWriteError && /every Parquet writer worker of the process has exited/.test(e.message),
      );
    } finally {
      await host.close();
    }
    assert.throws(() => host.connect(), /closed/);
  }));
