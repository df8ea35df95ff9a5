import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { DataFileWriter, DataFileWriterClosedError } from '../../../src/iceberg/data-file-writer.js';
import type { DataFile } from '../../../src/iceberg/data-file.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import type { PartitionSpec, Schema } from '../../../src/iceberg/schema.js';
import { withTempDir } from './support/temp-dir.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'order_id', required: true, type: 'string' },
    { id: 2, name: 'created_at', required: true, type: 'timestamptz' },
  ],
};
const byDay: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'created_at_day', transform: 'day' }] };
const DAY_MS = 86_400_000;

/** Rows `from` … `to - 1`, spread over two days (two partitions). */
function rows(from: number, to: number): { order_id: string; created_at: number }[] {
  return Array.from({ length: to - from }, (_, k) => ({ order_id: `o-${from + k}`, created_at: 1_704_067_200_000 + ((from + k) % 2) * DAY_MS }));
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, k) => `o-${from + k}`);
}

async function idsIn(io: LocalFileIO, files: readonly DataFile[]): Promise<string[]> {
  const ids: string[] = [];
  for (const f of files) {
    const table = tableFromIPC(readParquet(await io.read(f.filePath)).intoIPCStream());
    assert.equal(table.numRows, f.recordCount, `${f.filePath}: row count in the manifest entry`);
    for (const id of table.getChild('order_id')!) ids.push(id as string);
  }
  return ids.sort();
}

const withDir = <T>(fn: (dir: string) => Promise<T>): Promise<T> => withTempDir('icedata-seal-', fn);

async function filesOnDisk(dir: string): Promise<string[]> {
  const names: string[] = [];
  const data = join(dir, 't', 'data');
  for (const partition of await readdir(data).catch(() => [])) for (const name of await readdir(join(dir, 't', 'data', partition))) names.push(name);
  return names.sort();
}

for (const writeInWorker of [false, true]) {
  const mode = writeInWorker ? 'worker' : 'inline';

  test(`a seal returns exactly the rows appended before it, while later rows go on into new files (${mode})`, () =>
    withDir(async (dir) => {
      const io = new LocalFileIO();
      // A small target size: some files roll by size before a seal, and belong to it.
      const writer = new DataFileWriter({ schema, spec: byDay, tableLocation: join(dir, 't'), fileIO: io, targetFileSizeBytes: 8 * 1024, batchRows: 400, writeInWorker });
      for (let from = 0; from < 20_000; from += 2_000) await writer.append(rows(from, from + 2_000));
      const first = writer.seal();
      // Not awaited: the next checkpoint's rows are appended while the first seal's files close.
      await writer.append(rows(20_000, 30_000));
      const second = writer.seal();
      await writer.append(rows(30_000, 30_500));
      const [a, b] = await Promise.all([first, second]);
      assert.ok(a.length > 2, `several files in the first seal (rolled by size and sealed), got ${a.length}`);
      assert.deepEqual(await idsIn(io, a), range(0, 20_000).sort());
      assert.deepEqual(await idsIn(io, b), range(20_000, 30_000).sort());
      assert.equal(new Set([...a, ...b].map((f) => f.filePath)).size, a.length + b.length, 'no file in two seals');
      const third = await writer.flush();
      assert.deepEqual(await idsIn(io, third), range(30_000, 30_500).sort());
      assert.deepEqual(await writer.seal(), [], 'nothing written since');
      await writer.close();
      assert.deepEqual(await filesOnDisk(dir), [...a, ...b, ...third].map((f) => f.filePath.split('/').pop()!).sort(), 'every returned file kept, no temp files');
    }));

  test(`a writer closed while a seal is in flight rejects the seal and leaves no file behind (${mode})`, () =>
    withDir(async (dir) => {
      const io = new LocalFileIO();
      const writer = new DataFileWriter({ schema, spec: byDay, tableLocation: join(dir, 't'), fileIO: io, batchRows: 500, writeInWorker });
      await writer.append(rows(0, 2_000));
      const sealed = writer.seal();
      await writer.append(rows(2_000, 2_600));
      await writer.close();
      // Its files belong to no checkpoint then (a run closes its writers after its last seal resolved).
      await assert.rejects(sealed, DataFileWriterClosedError);
      assert.deepEqual(await filesOnDisk(dir), []);
    }));
}
