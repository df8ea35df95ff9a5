import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IcebergReadError, ensureServices, readIcebergTable, uniqueName } from '../../helpers/services.js';

test('the pyiceberg reader names a missing local metadata file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iceberg-read-'));
  try {
    const missing = join(dir, 'metadata', '00001-none.metadata.json');
    await assert.rejects(readIcebergTable(missing, { rows: true }), (error: unknown) => {
      assert.ok(error instanceof IcebergReadError);
      assert.equal(error.metadataLocation, missing);
      assert.match(error.message, /metadata file not found/);
      assert.ok(error.message.includes(missing), error.message);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the pyiceberg reader names a missing s3:// metadata file on moto', async () => {
  await ensureServices({ moto: true });
  const missing = `s3://${uniqueName('no-such-bucket-')}/t/metadata/v1.metadata.json`;
  await assert.rejects(readIcebergTable(missing), (error: unknown) => {
    assert.ok(error instanceof IcebergReadError);
    assert.match(error.message, /metadata file not found/);
    assert.ok(error.message.includes(missing), error.message);
    return true;
  });
});

test('uniqueName gives distinct names valid for topics, buckets and S3 Tables names', () => {
  const names = new Set(Array.from({ length: 100 }, () => uniqueName('orders_')));
  assert.equal(names.size, 100);
  for (const name of names) assert.match(name, /^orders_[0-9a-z]+$/);
});
