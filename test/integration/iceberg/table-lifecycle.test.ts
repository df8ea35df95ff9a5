/**
 * Table lifecycle read back by pyiceberg, on the local warehouse and on S3 Tables (moto): a table
 * that gained a column (and had a column promoted) returns every old and new row with nulls where
 * due; compaction that raced a streaming append leaves fewer files, the same rows and the raced
 * append exactly once; snapshot expiry deletes no file a retained snapshot references.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableBucketCommand, NotFoundException, S3TablesClient } from '@aws-sdk/client-s3tables';
import { appendFiles } from '../../../src/iceberg/append-files.js';
import type { Catalog, TableIdentifier } from '../../../src/iceberg/catalog.js';
import type { DataFile } from '../../../src/iceberg/data-file.js';
import { DataFileWriter } from '../../../src/iceberg/data-file-writer.js';
import { IcebergTable } from '../../../src/iceberg/iceberg-table.js';
import { LocalCatalog } from '../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { compactDataFiles } from '../../../src/iceberg/maintenance/compact-data-files.js';
import { expireSnapshots } from '../../../src/iceberg/maintenance/expire-snapshots.js';
import { S3FileIO } from '../../../src/iceberg/s3-file-io.js';
import { S3TablesCatalog } from '../../../src/iceberg/s3-tables-catalog.js';
import { isOperationNotImplemented } from '../../../src/iceberg/s3-tables-maintenance.js';
import { optional, partitionBy, required, tableSchema } from '../../../src/iceberg/schema-builder.js';
import { ensureServices, readIcebergTable, uniqueName } from '../../helpers/services.js';

const V1 = tableSchema({ id: required('long'), at: required('timestamptz'), n: optional('int') });
const V2 = tableSchema({ id: required('long'), at: required('timestamptz'), n: optional('long'), note: optional('string') });
const DAY_MS = 86_400_000;
const DAY0 = Date.UTC(2025, 0, 1);
const FAST = { baseDelayMs: 5, maxDelayMs: 50 };

interface Target {
  readonly label: string;
  /** S3 Tables refuses deletes in a table's storage and removes unreferenced files itself. */
  readonly deletes: boolean;
  readonly catalog: () => Promise<Catalog>;
}

let tableBucketArn = '';
const targets: Target[] = [
  { label: 'local warehouse', deletes: true, catalog: async () => new LocalCatalog({ warehouse: mkdtempSync(join(tmpdir(), 'lifecycle-')), fileIO: new LocalFileIO() }) },
  { label: 'S3 Tables', deletes: false, catalog: async () => new S3TablesCatalog({ tableBucketArn, client: new S3TablesClient({}), fileIO: new S3FileIO() }) },
];

before(async () => {
  await ensureServices({ moto: true });
  tableBucketArn = (await new S3TablesClient({}).send(new CreateTableBucketCommand({ name: uniqueName('lifecycle-') }))).arn!;
});

/** A V1 row (n fits an int) or a V2 row (n needs a long, note set); two days, so two partitions. */
function row(id: number, v2: boolean): Record<string, unknown> {
  const at = DAY0 + (id % 2) * DAY_MS;
  return v2 ? { id, at, n: BigInt(id) * 10_000_000_000n, note: `v2-${id}` } : { id, at, n: id };
}

async function writeRows(catalog: Catalog, table: IcebergTable, ids: readonly number[], v2: boolean): Promise<DataFile[]> {
  const writer = new DataFileWriter({ schema: table.schema, spec: table.spec, tableLocation: table.location, fileIO: catalog.fileIO, writeInWorker: false });
  await writer.append(ids.map((id) => row(id, v2)));
  const files = await writer.flush();
  await writer.close();
  return files;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

for (const target of targets) {
  test(`${target.label}: a table that gained a column returns every old and new row, nulls where due`, { timeout: 180_000 }, async () => {
    const catalog = await target.catalog();
    const id: TableIdentifier = { namespace: 'lifecycle', name: uniqueName('evolve_') };
    const definition = (schema: typeof V1) => ({ schema, spec: partitionBy(schema, [{ column: 'at', transform: 'day' }]) });
    let table = await IcebergTable.open(catalog, id, definition(V1));
    for (let b = 0; b < 3; b++) await appendFiles(catalog, id, await writeRows(catalog, table, range(b * 10, 10), false), FAST);

    table = await IcebergTable.open(catalog, id, definition(V2));
    assert.deepEqual(table.schemaUpdate.changes, ['promote n int → long', 'add column note string (id 4)']);
    for (let b = 3; b < 5; b++) await appendFiles(catalog, id, await writeRows(catalog, table, range(b * 10, 10), true), FAST);

    const read = await readIcebergTable((await catalog.loadTable(id)).metadataLocation, { rows: true });
    assert.deepEqual(
      read.schema.fields.map((f) => [f.id, f.name, f.type, f.required]),
      [
        [1, 'id', 'long', true],
        [2, 'at', 'timestamptz', true],
        [3, 'n', 'long', false],
        [4, 'note', 'string', false],
      ],
    );
    assert.equal(read.schema.schemaId, 1);
    const rows = [...read.rows!].sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(rows.map((r) => r.id), range(0, 50));
    for (const r of rows) {
      const i = Number(r.id);
      if (i < 30) {
        assert.equal(r.note, null, `row ${i}, written before the column existed`);
        assert.equal(Number(r.n), i);
      } else {
        assert.equal(r.note, `v2-${i}`);
        assert.equal(Number(r.n), i * 10_000_000_000);
      }
    }
  });

  test(`${target.label}: compaction that raced a streaming append — fewer files, same rows, the append once; expiry keeps what retained snapshots reference`, { timeout: 240_000 }, async () => {
    const catalog = await target.catalog();
    const id: TableIdentifier = { namespace: 'lifecycle', name: uniqueName('compact_') };
    const table = await IcebergTable.open(catalog, id, { schema: V2, spec: partitionBy(V2, [{ column: 'at', transform: 'day' }]) });
    for (let b = 0; b < 6; b++) await appendFiles(catalog, id, await writeRows(catalog, table, range(b * 10, 10), true), FAST);
    const before = await readIcebergTable((await catalog.loadTable(id)).metadataLocation, { files: true });
    assert.equal(before.files!.length, 12);

    // The compaction plans on this state; a streaming append lands before it commits.
    const stale = await catalog.loadTable(id);
    const raced = await writeRows(catalog, table, range(1000, 7), true);
    await appendFiles(catalog, id, raced, { ...FAST, summary: { 'streamline.checkpoint-id': '7' } });
    let conflicts = 0;
    const result = await compactDataFiles(catalog, id, { targetFileSizeBytes: 1024 * 1024, minInputFiles: 2, writeInWorker: false, base: stale, onConflict: () => conflicts++ });
    assert.ok(conflicts >= 1, 'the compaction must have met the raced append');
    assert.equal(result.rewrittenFiles.length, 12);

    const after = await readIcebergTable((await catalog.loadTable(id)).metadataLocation, { column: 'id', files: true, snapshotRows: true });
    assert.deepEqual(after.column!.values, [...range(0, 60), ...range(1000, 7)], 'every row once, the raced append included');
    assert.equal(after.files!.length, 4, 'one compacted file per partition, and the raced append’s files');
    for (const f of raced) assert.ok(after.files!.some((g) => g.path === f.filePath), `raced file ${f.filePath} is still live`);
    assert.equal(after.snapshots.at(-1)?.operation, 'replace');
    assert.equal(after.snapshots.at(-2)?.summary['streamline.checkpoint-id'], '7');

    // Keep the two newest: the raced append's snapshot still references the small files.
    const keepTwo = await expireSnapshots(catalog, id, { retainLast: 2, maxSnapshotAgeMs: 0, nowMs: Date.now() + 1000 });
    assert.equal(keepTwo.expiredSnapshots.length, 6);
    assert.deepEqual(keepTwo.deletedDataFiles, [], 'every small file is still referenced by the raced append’s snapshot');
    const two = await readIcebergTable((await catalog.loadTable(id)).metadataLocation, { column: 'id', snapshotRows: true });
    assert.deepEqual(Object.values(two.snapshotRows!), [67, 67], 'pyiceberg scans both retained snapshots whole');
    assert.deepEqual(two.column!.values, after.column!.values);

    // Keep only the current one: the small files go, the current snapshot reads the same.
    const keepOne = await expireSnapshots(catalog, id, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: Date.now() + 1000, deleteUnreferencedFiles: target.deletes });
    assert.equal(keepOne.expiredSnapshots.length, 1);
    assert.deepEqual(keepOne.failedDeletes, []);
    assert.deepEqual([...keepOne.deletedDataFiles].sort(), target.deletes ? before.files!.map((f) => f.path).sort() : []);
    for (const f of before.files!) assert.equal(await catalog.fileIO.exists(f.path), !target.deletes, f.path);
    const one = await readIcebergTable((await catalog.loadTable(id)).metadataLocation, { column: 'id', snapshotRows: true });
    assert.deepEqual(Object.values(one.snapshotRows!), [67]);
    assert.deepEqual(one.column!.values, after.column!.values);
  });
}

test('S3 Tables: the writer creating a table sets its maintenance configuration; moto lacks the API, which earns one warning and nothing else', { timeout: 60_000 }, async () => {
  const warnings: string[] = [];
  const catalog = new S3TablesCatalog({
    tableBucketArn,
    client: new S3TablesClient({}),
    fileIO: new S3FileIO(),
    maintenance: { compactionTargetFileSizeMb: 128, minSnapshotsToKeep: 10, maxSnapshotAgeHours: 6 },
    warn: (message) => warnings.push(message),
  });
  const id = { namespace: 'lifecycle', name: uniqueName('configured_') };
  const created = await catalog.ensureTable(id, { schema: V2 });
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /does not implement PutTableMaintenanceConfiguration/);
  assert.equal(await catalog.configureMaintenance(id), 'not-implemented');
  // Loading an existing table does not configure it again; the table is usable.
  await catalog.ensureTable(id, { schema: V2 });
  assert.equal(warnings.length, 2, 'only the explicit configureMaintenance call warned again');
  assert.equal((await readIcebergTable(created.metadataLocation)).rowCount, 0);
  // Only an unmodeled 404/405/501 counts as "not implemented": a modeled S3 Tables error is a real answer.
  assert.equal(isOperationNotImplemented(new NotFoundException({ message: 'no such table', $metadata: { httpStatusCode: 404 } })), false);
  assert.equal(isOperationNotImplemented(Object.assign(new Error('Not Found'), { $metadata: { httpStatusCode: 404 } })), true);
  assert.equal(isOperationNotImplemented(Object.assign(new Error('Forbidden'), { $metadata: { httpStatusCode: 403 } })), false);
});
