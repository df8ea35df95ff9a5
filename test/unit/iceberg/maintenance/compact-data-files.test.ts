import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendFiles } from '../../../../src/iceberg/append-files.js';
import type { DataFile } from '../../../../src/iceberg/data-file.js';
import { DataFileWriter } from '../../../../src/iceberg/data-file-writer.js';
import { IcebergTable } from '../../../../src/iceberg/iceberg-table.js';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { compactDataFiles } from '../../../../src/iceberg/maintenance/compact-data-files.js';
import { optional, partitionBy, required, tableSchema } from '../../../../src/iceberg/schema-builder.js';
import { decodeManifest } from '../../../../src/iceberg/manifest.js';
import { decodeManifestList } from '../../../../src/iceberg/manifest-list.js';
import { currentSnapshot } from '../../../../src/iceberg/table-metadata.js';

const ID = { namespace: 'sink', name: 'events' };
const V1 = tableSchema({ id: required('long'), at: required('timestamptz'), n: optional('int') });
const V2 = tableSchema({ id: required('long'), at: required('timestamptz'), n: optional('long'), note: optional('string') });
const DAY_MS = 86_400_000;

async function writeFiles(table: IcebergTable, rows: Record<string, unknown>[]): Promise<DataFile[]> {
  const writer = new DataFileWriter({ schema: table.schema, spec: table.spec, tableLocation: table.location, fileIO: table.catalog.fileIO, writeInWorker: false });
  await writer.append(rows);
  const files = await writer.flush();
  await writer.close();
  return files;
}

/** Live data files of the current snapshot, read from the manifests directly. */
async function liveFiles(catalog: LocalCatalog): Promise<DataFile[]> {
  const { metadata } = await catalog.loadTable(ID);
  const out: DataFile[] = [];
  for (const m of decodeManifestList(await catalog.fileIO.read(currentSnapshot(metadata)!['manifest-list']))) {
    for (const e of decodeManifest(await catalog.fileIO.read(m.manifestPath)).entries) if (e.status !== 2) out.push(e.dataFile);
  }
  return out;
}

test('compaction rewrites a partition’s small files into fewer, keeps every row and partition, and skips what it must not touch', async () => {
  const warehouse = mkdtempSync(join(tmpdir(), 'compact-'));
  try {
    const catalog = new LocalCatalog({ warehouse, fileIO: new LocalFileIO() });
    let table = await IcebergTable.open(catalog, ID, { schema: V1, spec: partitionBy(V1, [{ column: 'at', transform: 'day' }]) });
    let next = 0;
    const commit = async (count: number, v2: boolean) => {
      const rows = Array.from({ length: count }, () => {
        const id = next++;
        return v2 ? { id, at: (id % 2) * DAY_MS, n: BigInt(id) * 10_000_000_000n, note: `v2-${id}` } : { id, at: (id % 2) * DAY_MS, n: id };
      });
      await appendFiles(catalog, ID, await writeFiles(table, rows));
    };
    for (let i = 0; i < 3; i++) await commit(10, false); // 3 commits × 2 partitions
    table = await IcebergTable.open(catalog, ID, { schema: V2 });
    assert.deepEqual(table.schemaUpdate.changes, ['promote n int → long', 'add column note string (id 4)']);
    for (let i = 0; i < 2; i++) await commit(10, true);
    const before = await liveFiles(catalog);
    assert.equal(before.length, 10);
    const excluded = before.find((f) => f.partition['at_day'] === 1)!;

    const result = await compactDataFiles(catalog, ID, { targetFileSizeBytes: 1024 * 1024, minInputFiles: 2, writeInWorker: false, excludedFiles: new Set([excluded.filePath]) });
    assert.equal(result.partitions, 2);
    assert.equal(result.rewrittenFiles.length, 9, 'the excluded file is not rewritten');
    assert.equal(result.addedFiles.length, 2);
    assert.equal(result.snapshot?.summary.operation, 'replace');
    const after = await liveFiles(catalog);
    assert.equal(after.length, 3);
    assert.ok(after.some((f) => f.filePath === excluded.filePath));
    const rowsIn = (files: DataFile[], day: number) => files.filter((f) => f.partition['at_day'] === day).reduce((n, f) => n + f.recordCount, 0);
    for (const day of [0, 1]) assert.equal(rowsIn(after, day), rowsIn(before, day), `partition ${day} keeps its rows`);
    assert.ok(result.addedFiles.every((f) => f.filePath.includes('/compacted-')));
    // The rewritten files carry the current schema's columns: stats for `note` (field 4) exist.
    assert.ok(result.addedFiles.every((f) => f.valueCounts.get(4) === f.recordCount));

    // Nothing left to compact: no commit.
    const again = await compactDataFiles(catalog, ID, { targetFileSizeBytes: 1024 * 1024, minInputFiles: 2, writeInWorker: false, excludedFiles: new Set([excluded.filePath]) });
    assert.equal(again.partitions, 0);
    assert.match(again.skipped ?? '', /no partition has enough small files/);
    // Files at or above the small-file size are left alone.
    const big = await compactDataFiles(catalog, ID, { targetFileSizeBytes: 1024 * 1024, smallFileBytes: 1, minInputFiles: 2, writeInWorker: false });
    assert.equal(big.partitions, 0);
  } finally {
    rmSync(warehouse, { recursive: true, force: true });
  }
});
