/** S3 Tables catalog against moto (S3 Tables + S3), read back by pyiceberg — concurrent writers included. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTableBucketCommand, GetTableCommand, S3TablesClient } from '@aws-sdk/client-s3tables';
import { S3TablesCatalog } from '../../../src/iceberg/s3-tables-catalog.js';
import { S3FileIO } from '../../../src/iceberg/s3-file-io.js';
import { NoSuchTableError } from '../../../src/errors.js';
import { maxCommittedCheckpoint } from '../../../src/iceberg/snapshot-ancestry.js';
import { ensureServices, readIcebergTable, uniqueName } from '../../helpers/services.js';
import { assertReadBack, BY_DAY, ORDERS, runConcurrentWriters } from './support/concurrent-writers.js';

let tableBucketArn = '';

before(async () => {
  await ensureServices({ moto: true });
  // No endpoint passed anywhere: the SDK must take AWS_ENDPOINT_URL (set by ensureServices) itself.
  const client = new S3TablesClient({});
  const res = await client.send(new CreateTableBucketCommand({ name: uniqueName('icemeta-') }));
  tableBucketArn = res.arn!;
});

function newCatalog(): S3TablesCatalog {
  return new S3TablesCatalog({ tableBucketArn, client: new S3TablesClient({}), fileIO: new S3FileIO() });
}

test('ensureTable creates namespace + table, writes the first metadata under warehouseLocation', async () => {
  const id = { namespace: uniqueName('ns_'), name: 'orders' };
  const catalog = newCatalog();
  await assert.rejects(catalog.loadTable(id), NoSuchTableError);
  const table = await catalog.ensureTable(id, { schema: ORDERS, spec: BY_DAY });
  const raw = await catalog.client.send(new GetTableCommand({ tableBucketARN: tableBucketArn, namespace: id.namespace, name: id.name }));
  assert.equal(raw.metadataLocation, table.metadataLocation);
  assert.equal(raw.versionToken, table.versionToken);
  assert.ok(table.metadataLocation.startsWith(`${raw.warehouseLocation}/metadata/00000-`));
  assert.equal(table.metadata.location, raw.warehouseLocation);
  // a second writer finds it instead of re-creating it
  const again = await newCatalog().ensureTable(id, { schema: ORDERS, spec: BY_DAY });
  assert.equal(again.metadata['table-uuid'], table.metadata['table-uuid']);
  const read = await readIcebergTable(table.metadataLocation);
  assert.equal(read.rowCount, 0);
  assert.equal(read.currentSnapshotId, null);
});

test('S3 Tables: two concurrent writers (409 conflicts retried), every row once, pyiceberg reads it all', async (t) => {
  const id = { namespace: 'sink', name: uniqueName('orders_') };
  const jobId = 'orders-job';
  const scenario = await runConcurrentWriters([newCatalog(), newCatalog()], id, { batches: 4, rowsPerBatch: 300, jobId });
  assert.ok(scenario.conflicts >= 1, 'writers sharing a base must conflict at least once');
  const read = await readIcebergTable(scenario.metadataLocation, { column: 'order_id', files: true });
  assertReadBack(read, scenario, 2, jobId);
  for (const f of read.files!) assert.ok(f.path.startsWith(read.location + '/'), f.path);
  const md = (await newCatalog().loadTable(id)).metadata;
  assert.equal(maxCommittedCheckpoint(md, jobId, 'sink-1'), 4);
  t.diagnostic(`conflicts retried: ${scenario.conflicts}, commits: ${scenario.commits}`);
});
