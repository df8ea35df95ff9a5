import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ConflictException,
  CreateNamespaceCommand,
  CreateTableBucketCommand,
  CreateTableCommand,
  GetTableCommand,
  GetTableMetadataLocationCommand,
  S3TablesClient,
  UpdateTableMetadataLocationCommand,
} from '@aws-sdk/client-s3tables';
import { ensureServices, uniqueName } from '../../helpers/services.js';

let tables: S3TablesClient;
let s3: S3Client;

before(async () => {
  const { region } = await ensureServices({ moto: true });
  tables = new S3TablesClient({ region });
  s3 = new S3Client({ region, forcePathStyle: true });
});

/** Splits `s3://bucket/prefix` into bucket and key prefix (no trailing slash). */
function parseS3(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  assert.ok(match, `not an s3 location: ${location}`);
  return { bucket: match[1]!, prefix: match[2]!.replace(/\/$/, '') };
}

async function putMetadata(warehouseLocation: string, name: string): Promise<string> {
  const { bucket, prefix } = parseS3(warehouseLocation);
  const key = `${prefix ? `${prefix}/` : ''}metadata/${name}`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ 'format-version': 2 }) }));
  return `s3://${bucket}/${key}`;
}

test('S3 Tables: create bucket, namespace and table; a stale version token is rejected with ConflictException', async () => {
  const bucket = await tables.send(new CreateTableBucketCommand({ name: uniqueName('smoke-') }));
  const tableBucketARN = bucket.arn!;
  assert.match(tableBucketARN, /^arn:aws:s3tables:us-east-1:\d{12}:bucket\//);
  const namespace = uniqueName('sink_');
  await tables.send(new CreateNamespaceCommand({ tableBucketARN, namespace: [namespace] }));
  const name = uniqueName('orders_');
  const created = await tables.send(new CreateTableCommand({ tableBucketARN, namespace, name, format: 'ICEBERG' }));
  assert.ok(created.versionToken);

  const fresh = await tables.send(new GetTableCommand({ tableBucketARN, namespace, name }));
  assert.equal(fresh.versionToken, created.versionToken);
  assert.equal(fresh.metadataLocation ?? undefined, undefined, 'a new table has no metadata yet');
  assert.match(fresh.warehouseLocation!, /^s3:\/\//);

  // First commit: our metadata file under the warehouse location, then swing the pointer.
  const v1 = await putMetadata(fresh.warehouseLocation!, '00001-smoke.metadata.json');
  const first = await tables.send(
    new UpdateTableMetadataLocationCommand({ tableBucketARN, namespace, name, versionToken: fresh.versionToken!, metadataLocation: v1 }),
  );
  assert.equal(first.metadataLocation, v1);
  assert.notEqual(first.versionToken, fresh.versionToken, 'a commit must change the version token');

  // A concurrent writer still holding the old token loses.
  const v2 = await putMetadata(fresh.warehouseLocation!, '00002-loser.metadata.json');
  await assert.rejects(
    tables.send(
      new UpdateTableMetadataLocationCommand({ tableBucketARN, namespace, name, versionToken: fresh.versionToken!, metadataLocation: v2 }),
    ),
    (error: unknown) => {
      assert.ok(error instanceof ConflictException, `expected ConflictException, got ${String(error)}`);
      assert.equal(error.$metadata.httpStatusCode, 409);
      return true;
    },
  );

  const after = await tables.send(new GetTableCommand({ tableBucketARN, namespace, name }));
  assert.equal(after.metadataLocation, v1, 'the rejected commit left the pointer alone');
  assert.equal(after.versionToken, first.versionToken);
  const pointer = await tables.send(new GetTableMetadataLocationCommand({ tableBucketARN, namespace, name }));
  assert.equal(pointer.metadataLocation, v1);
  assert.equal(pointer.versionToken, first.versionToken);
});

test('S3 Tables: of 16 commits racing with the same version token exactly one wins', async () => {
  const { arn } = await tables.send(new CreateTableBucketCommand({ name: uniqueName('smoke-') }));
  const tableBucketARN = arn!;
  await tables.send(new CreateNamespaceCommand({ tableBucketARN, namespace: ['sink'] }));
  await tables.send(new CreateTableCommand({ tableBucketARN, namespace: 'sink', name: 'raced', format: 'ICEBERG' }));
  const table = await tables.send(new GetTableCommand({ tableBucketARN, namespace: 'sink', name: 'raced' }));
  const locations = await Promise.all(
    Array.from({ length: 16 }, (_, i) => putMetadata(table.warehouseLocation!, `0000${i}-racer.metadata.json`)),
  );
  const outcomes = await Promise.allSettled(
    locations.map((metadataLocation) =>
      tables.send(
        new UpdateTableMetadataLocationCommand({
          tableBucketARN, namespace: 'sink', name: 'raced', versionToken: table.versionToken!, metadataLocation,
        }),
      ),
    ),
  );
  const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [locations[i]] : []));
  assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
  for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof ConflictException, String(o.reason));
  const after = await tables.send(new GetTableCommand({ tableBucketARN, namespace: 'sink', name: 'raced' }));
  assert.equal(after.metadataLocation, winners[0]);
});

test('S3 Tables: the warehouse location accepts object writes but not listing (as on AWS)', async () => {
  const { arn } = await tables.send(new CreateTableBucketCommand({ name: uniqueName('smoke-') }));
  await tables.send(new CreateNamespaceCommand({ tableBucketARN: arn!, namespace: ['sink'] }));
  await tables.send(new CreateTableCommand({ tableBucketARN: arn!, namespace: 'sink', name: 'events', format: 'ICEBERG' }));
  const table = await tables.send(new GetTableCommand({ tableBucketARN: arn!, namespace: 'sink', name: 'events' }));
  await putMetadata(table.warehouseLocation!, 'probe.metadata.json');
  const { bucket } = parseS3(table.warehouseLocation!);
  await assert.rejects(s3.send(new ListObjectsV2Command({ Bucket: bucket })), { name: 'MethodNotAllowed' });
});
