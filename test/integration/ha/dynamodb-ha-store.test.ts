/**
 * DynamoDbHaStore against moto through the AWS SDK: the same contract as the local store
 * (separate clients stand in for separate instances), plus table creation and the item layout.
 * Tests that race requests use a single-threaded moto (see single-threaded-moto.ts for why).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ConfigError, FencedError } from '../../../src/errors.js';
import { DynamoDbHaStore } from '../../../src/runtime/ha/dynamodb-ha-store.js';
import { FakeClock, haStoreContract } from '../../unit/runtime/ha/ha-store-contract.js';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { startSingleThreadedMoto, type SingleThreadedMoto } from './single-threaded-moto.js';

const clients: DynamoDBClient[] = [];
let tableName: string;

function newClient(endpoint: string): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  clients.push(client);
  return client;
}

let endpoint: string;
let serial: SingleThreadedMoto;
before(async () => {
  endpoint = (await ensureServices({ moto: true })).awsEndpoint;
  serial = await startSingleThreadedMoto();
  tableName = uniqueName('streamline-ha');
});
after(async () => {
  for (const client of clients) client.destroy();
  await serial?.stop();
});

test('DynamoDbHaStore: creates a missing table on first use (on-demand) and waits until ACTIVE', async () => {
  const client = newClient(endpoint);
  const store = new DynamoDbHaStore({ client, tableName });
  assert.equal(store.uri, `dynamodb://${tableName}`);
  await Promise.all([store.ensureTable(), new DynamoDbHaStore({ client: newClient(endpoint), tableName }).ensureTable()]);
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  assert.equal(table?.TableStatus, 'ACTIVE');
  assert.equal(table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
});

let counter = 0;
haStoreContract('DynamoDbHaStore', {
  async create(instances, clock) {
    const stores = Array.from({ length: instances }, () => new DynamoDbHaStore({ client: newClient(serial.endpoint), tableName, clock }));
    return { stores, jobName: `job${++counter}-${Date.now().toString(36)}` };
  },
});

test('DynamoDbHaStore: items are {pk: job#<name>, sk: lease|checkpoint#<location>} with a numeric fencing token', async () => {
  const client = newClient(endpoint);
  const clock = new FakeClock();
  const store = new DynamoDbHaStore({ client, tableName, clock });
  const lease = (await store.tryAcquire('layout', 'host:1:x', 5000))!;
  await store.publishPointer(lease, 's3://bucket/checkpoints', { checkpointId: 9, location: 's3://bucket/checkpoints/layout/chk-9' });
  const leaseItem = (await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'job#layout' }, sk: { S: 'lease' } } }))).Item;
  assert.deepEqual(leaseItem, {
    pk: { S: 'job#layout' }, sk: { S: 'lease' }, owner: { S: 'host:1:x' }, expiresAt: { N: String(clock.now() + 5000) }, fencingToken: { N: '1' },
  });
  const pointerItem = (await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'job#layout' }, sk: { S: 'checkpoint#s3://bucket/checkpoints' } } }))).Item;
  assert.deepEqual(pointerItem, {
    pk: { S: 'job#layout' },
    sk: { S: 'checkpoint#s3://bucket/checkpoints' },
    checkpointId: { N: '9' },
    location: { S: 's3://bucket/checkpoints/layout/chk-9' },
    fencingToken: { N: '1' },
    checkpoints: { S: 's3://bucket/checkpoints' },
  });
});

test('DynamoDbHaStore: a zombie publishing concurrently with its successor never moves the pointer', async () => {
  const clock = new FakeClock();
  const zombieStore = new DynamoDbHaStore({ client: newClient(serial.endpoint), tableName, clock });
  const successorStore = new DynamoDbHaStore({ client: newClient(serial.endpoint), tableName, clock });
  const job = `zombie-${Date.now().toString(36)}`;
  const zombie = (await zombieStore.tryAcquire(job, 'old', 1000))!;
  clock.advance(1001);
  const successor = (await successorStore.tryAcquire(job, 'new', 1000))!;
  const results = await Promise.allSettled([
    ...Array.from({ length: 5 }, (_, i) => zombieStore.publishPointer(zombie, 's3://b/c', { checkpointId: 100 + i, location: `zombie-${i}` })),
    successorStore.publishPointer(successor, 's3://b/c', { checkpointId: 10, location: 'successor-10' }),
  ]);
  assert.ok(results.slice(0, 5).every((r) => r.status === 'rejected' && r.reason instanceof FencedError));
  assert.equal(results[5]!.status, 'fulfilled');
  assert.deepEqual(await zombieStore.readPointer(job, 's3://b/c'), { checkpointId: 10, location: 'successor-10', fencingToken: 2n });
});

test('DynamoDbHaStore: an existing table with another key schema is a ConfigError naming DYNAMODB_TABLE', async () => {
  const client = newClient(endpoint);
  const wrong = uniqueName('wrong-schema');
  await client.send(new CreateTableCommand({
    TableName: wrong, BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  }));
  await assert.rejects(new DynamoDbHaStore({ client, tableName: wrong }).tryAcquire('orders', 'x', 1000), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /DYNAMODB_TABLE.*pk \(HASH\) and sk \(RANGE\)/);
    return true;
  });
  await assert.rejects(new DynamoDbHaStore({ client, tableName: uniqueName('absent'), createTable: false }).currentToken('orders'), ConfigError);
});
