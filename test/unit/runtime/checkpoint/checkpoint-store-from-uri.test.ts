import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpointStoreFromUri, parseCheckpointUri } from '../../../../src/runtime/checkpoint/checkpoint-store-from-uri.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { S3CheckpointStore } from '../../../../src/runtime/checkpoint/s3-checkpoint-store.js';
import { ConfigError } from '../../../../src/errors.js';

const env = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' };

test('paths and file URIs give a local store', () => {
  assert.deepEqual(parseCheckpointUri('file:///var/lib/streamline/chk'), { kind: 'local', path: '/var/lib/streamline/chk' });
  assert.deepEqual(parseCheckpointUri('./checkpoints', '/srv/app'), { kind: 'local', path: '/srv/app/checkpoints' });
  assert.deepEqual(parseCheckpointUri('/abs/dir'), { kind: 'local', path: '/abs/dir' });
  const store = checkpointStoreFromUri('/tmp/x');
  assert.ok(store instanceof LocalCheckpointStore);
  assert.equal(store.uri, 'file:///tmp/x');
});

test('s3://bucket/prefix gives an S3 store with a normalised prefix', () => {
  assert.deepEqual(parseCheckpointUri('s3://testing-python-flink-connector/checkpoints/'), { kind: 's3', bucket: 'testing-python-flink-connector', prefix: 'checkpoints' });
  assert.deepEqual(parseCheckpointUri('s3://my.bucket'), { kind: 's3', bucket: 'my.bucket', prefix: '' });
  const store = checkpointStoreFromUri('s3://app-bucket/checkpoints/prod', { env });
  assert.ok(store instanceof S3CheckpointStore);
  assert.equal(store.uri, 's3://app-bucket/checkpoints/prod');
});

test('bad URIs are ConfigErrors naming CHECKPOINT_URI', () => {
  for (const uri of ['', '   ', 's3://', 's3://Upper_Case/x', 's3://ab/x', 's3://bucket/a/../b', 'http://example.com/x', 'gs://bucket/x', 'file://remotehost/x']) {
    assert.throws(() => parseCheckpointUri(uri), (err: unknown) => {
      assert.ok(err instanceof ConfigError, uri);
      assert.equal(err.setting, 'CHECKPOINT_URI', uri);
      assert.match(err.message, /CHECKPOINT_URI/);
      return true;
    });
  }
});

test('an s3:// URI without a region names AWS_REGION', () => {
  assert.throws(() => checkpointStoreFromUri('s3://app-bucket/chk', { env: {} }), (err: unknown) => err instanceof ConfigError && err.setting === 'AWS_REGION');
});
