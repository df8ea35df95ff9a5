import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../../src/errors.js';
import { DynamoDbHaStore } from '../../../../src/runtime/ha/dynamodb-ha-store.js';
import { haStoreFromConfig } from '../../../../src/runtime/ha/ha-store-from-config.js';
import { LocalHaStore } from '../../../../src/runtime/ha/local-ha-store.js';

test('without DYNAMODB_TABLE the local store is used', () => {
  const store = haStoreFromConfig({ localDir: '/tmp/streamline-ha', env: {} });
  assert.ok(store instanceof LocalHaStore);
  assert.equal(store.uri, 'file:///tmp/streamline-ha');
  assert.ok(haStoreFromConfig({ localDir: '/tmp/h', env: { DYNAMODB_TABLE: '  ' } }) instanceof LocalHaStore);
});

test('DYNAMODB_TABLE selects DynamoDB; bad names and a missing region are ConfigErrors', () => {
  const store = haStoreFromConfig({ localDir: '/tmp/h', env: { DYNAMODB_TABLE: 'streamline-ha', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' } });
  assert.ok(store instanceof DynamoDbHaStore);
  assert.equal(store.uri, 'dynamodb://streamline-ha');
  assert.throws(() => haStoreFromConfig({ localDir: '/tmp/h', env: { DYNAMODB_TABLE: 'a b', AWS_REGION: 'us-east-1' } }), (err: unknown) => err instanceof ConfigError && err.setting === 'DYNAMODB_TABLE');
  assert.throws(() => haStoreFromConfig({ localDir: '/tmp/h', env: { DYNAMODB_TABLE: 'streamline-ha' } }), (err: unknown) => err instanceof ConfigError && err.setting === 'AWS_REGION');
});
