import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { appendFiles } from '../../../../src/iceberg/append-files.js';
import { IcebergError } from '../../../../src/errors.js';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { removeOrphanFiles } from '../../../../src/iceberg/maintenance/remove-orphan-files.js';
import { BY_DAY, ORDERS_SCHEMA, sampleDataFile } from '../support/sample-table.js';
import { MemoryCatalog } from '../support/memory-catalog.js';

const ID = { namespace: 'sink', name: 'orders' };
const DAY_MS = 24 * 3_600_000;

/** Every file under a folder, relative paths, sorted. */
function tree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

function plant(path: string, ageMs: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'x');
  const when = new Date(Date.now() - ageMs);
  utimesSync(path, when, when);
}

test('orphan removal deletes old unreferenced files only: referenced, young and protected files stay', async () => {
  const warehouse = mkdtempSync(join(tmpdir(), 'orphans-'));
  try {
    const catalog = new LocalCatalog({ warehouse, fileIO: new LocalFileIO() });
    await catalog.ensureTable(ID, { schema: ORDERS_SCHEMA, spec: BY_DAY });
    const table = join(warehouse, 'sink', 'orders');
    const data = (name: string) => join(table, 'data', 'created_at_day=2024-03-18', name);
    const committed = [sampleDataFile(pathToFileURL(data('committed-1.parquet')).href, 19800, 10), sampleDataFile(pathToFileURL(data('committed-2.parquet')).href, 19800, 10)];
    for (const f of committed) plant(data(f.filePath.slice(f.filePath.lastIndexOf('/') + 1)), 10 * DAY_MS);
    await appendFiles(catalog, ID, [committed[0]!]);
    await appendFiles(catalog, ID, [committed[1]!]);
    // What a crash leaves: files of a checkpoint never committed (one still pending in a retained checkpoint), a writer's temp file.
    plant(data('uncommitted.parquet'), 10 * DAY_MS);
    plant(data('pending.parquet'), 10 * DAY_MS);
    plant(data('written-just-now.parquet'), 1_000);
    plant(data('crashed.parquet.3f1c.tmp'), 10 * DAY_MS);
    plant(join(table, 'metadata', 'failed-attempt-m0.avro'), 10 * DAY_MS);
    // Make the table's own files old as well: age alone must not be what keeps them.
    for (const name of tree(join(table, 'metadata'))) utimesSync(join(table, 'metadata', name), new Date(Date.now() - 10 * DAY_MS), new Date(Date.now() - 10 * DAY_MS));

    const result = await removeOrphanFiles(catalog, ID, {
      olderThanMs: Date.now() - 3 * DAY_MS,
      protectedFiles: new Set([pathToFileURL(data('pending.parquet')).href]),
    });
    assert.deepEqual(result.deleted.map((l) => l.slice(l.lastIndexOf('/') + 1)).sort(), ['crashed.parquet.3f1c.tmp', 'failed-attempt-m0.avro', 'uncommitted.parquet']);
    assert.deepEqual(result.keptProtected.map((l) => l.slice(l.lastIndexOf('/') + 1)), ['pending.parquet']);
    assert.equal(result.keptYoung, 1);
    for (const name of ['committed-1.parquet', 'committed-2.parquet', 'pending.parquet', 'written-just-now.parquet']) assert.ok(existsSync(data(name)), name);
    assert.ok(existsSync(join(table, 'metadata', 'version-hint.text')));
    // The table still loads: every metadata file it needs is there.
    const loaded = await catalog.loadTable(ID);
    assert.equal(loaded.metadata.snapshots.length, 2);
    for (const s of loaded.metadata.snapshots) assert.ok(existsSync(new URL(s['manifest-list'])));
  } finally {
    rmSync(warehouse, { recursive: true, force: true });
  }
});

test('a catalog whose storage cannot be listed is refused (S3 Tables forbids listing a table)', async () => {
  const catalog = new MemoryCatalog();
  await catalog.ensureTable(ID, { schema: ORDERS_SCHEMA });
  await assert.rejects(removeOrphanFiles(catalog, ID, { olderThanMs: Date.now() }), IcebergError);
});
