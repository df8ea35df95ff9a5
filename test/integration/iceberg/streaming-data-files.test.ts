/**
 * Data files written on the streaming path — several row groups per file, uploaded while they
 * grow (S3: multipart parts from the writer's worker thread) within a write buffer far smaller
 * than the files — are read back by pyiceberg, on the local warehouse and on S3 Tables (moto).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableBucketCommand, S3TablesClient } from '@aws-sdk/client-s3tables';
import { parquetMetadata } from 'hyparquet';
import type { Catalog } from '../../../src/iceberg/catalog.js';
import { DataFileWriter } from '../../../src/iceberg/data-file-writer.js';
import { IcebergTable } from '../../../src/iceberg/iceberg-table.js';
import { LocalCatalog } from '../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { S3TablesCatalog } from '../../../src/iceberg/s3-tables-catalog.js';
import type { PartitionSpec, Schema } from '../../../src/iceberg/schema.js';
import { ensureServices, readIcebergTable, uniqueName } from '../../helpers/services.js';

const EVENTS: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'status', required: true, type: 'string' },
    { id: 3, name: 'payload', required: true, type: 'string' },
    { id: 4, name: 'created_at', required: true, type: 'timestamptz' },
  ],
};
const BY_DAY: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 4, 'field-id': 1000, name: 'created_at_day', transform: 'day' }] };
const DAY0 = Date.UTC(2024, 2, 1);
const ROWS = 60_000;
const MiB = 1024 * 1024;

/** Writes ROWS rows over two days (~11 MB of Parquet per day, barely compressible), commits them, and checks what pyiceberg reads. */
async function writeAndReadBack(catalog: Catalog, expectWorker: boolean): Promise<void> {
  const id = { namespace: 'sink', name: uniqueName('events_') };
  const table = await IcebergTable.open(catalog, id, { schema: EVENTS, spec: BY_DAY });
  const writer = new DataFileWriter({
    schema: table.schema,
    spec: table.spec,
    tableLocation: table.location,
    fileIO: catalog.fileIO,
    writeBufferBytes: 2 * MiB,
    batchRows: 2_000,
    parquet: { rowGroupRows: 8_000 },
  });
  assert.equal(writer.writesInWorker, expectWorker);
  for (let start = 0; start < ROWS; start += 1_000) {
    const rows = Array.from({ length: 1_000 }, (_, k) => {
      const i = start + k;
      return { id: i, status: ['NEW', 'PAID', 'SHIPPED'][i % 3], payload: randomBytes(360).toString('base64'), created_at: new Date(DAY0 + Math.floor((i * 2) / ROWS) * 86_400_000 + (i % 1000) * 1000) };
    });
    assert.equal((await writer.append(rows)).rejected.length, 0);
    assert.ok(writer.bufferedBytes <= 2 * MiB);
  }
  const files = await writer.flush();
  await writer.close();
  assert.equal(files.length, 2);
  const committed = await table.append(files);

  for (const file of files) {
    const bytes = await catalog.fileIO.read(file.filePath);
    assert.equal(bytes.byteLength, file.fileSizeInBytes);
    assert.ok(bytes.byteLength > 8 * MiB, `a file of ${bytes.byteLength} bytes spans several upload parts (S3FileIO: 8 MiB)`);
    const meta = parquetMetadata(new Uint8Array(bytes).buffer);
    assert.ok(meta.row_groups.length >= 3, `${meta.row_groups.length} row groups`);
    assert.equal(file.splitOffsets.length, meta.row_groups.length);
    assert.match(meta.created_by ?? '', /^streamline version \d+\.\d+\.\d+ \(build [^)]+\)$/);
  }

  const read = await readIcebergTable(committed.table.metadataLocation, { column: 'id', files: true });
  assert.equal(read.rowCount, ROWS);
  assert.deepEqual(read.column!.values, Array.from({ length: ROWS }, (_, i) => i), 'every row exactly once');
  assert.deepEqual(read.files!.map((f) => f.recordCount).sort(), [ROWS / 2, ROWS / 2]);
  for (const f of read.files!) assert.ok(f.columnsWithLowerBounds.includes('status') && f.columnsWithLowerBounds.includes('id'), 'column bounds present');
}

let tableBucketArn = '';

before(async () => {
  await ensureServices({ moto: true });
  tableBucketArn = (await new S3TablesClient({}).send(new CreateTableBucketCommand({ name: uniqueName('streaming-') }))).arn!;
});

test('local warehouse: multi-row-group files written while they grow are read back by pyiceberg', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'streaming-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeAndReadBack(new LocalCatalog({ warehouse: dir, fileIO: new LocalFileIO() }), true);
});

test('S3 Tables: multi-row-group files uploaded in parts from the worker are read back by pyiceberg', async () => {
  await writeAndReadBack(new S3TablesCatalog({ tableBucketArn }), true);
});
