import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ensureServices, uniqueName } from '../../helpers/services.js';

let dynamo: DynamoDBClient;

before(async () => {
  const { region } = await ensureServices({ moto: true });
  dynamo = new DynamoDBClient({ region });
});

test('a conditional put on a stale version fails with ConditionalCheckFailedException', async () => {
  const table = uniqueName('smoke-ha-');
  await dynamo.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );

  const put = (version: number, condition: string, expected?: number) =>
    dynamo.send(
      new PutItemCommand({
        TableName: table,
        Item: { jobId: { S: 'orders' }, version: { N: String(version) }, owner: { S: `instance-${version}` } },
        ConditionExpression: condition,
        ...(expected === undefined ? {} : { ExpressionAttributeValues: { ':expected': { N: String(expected) } } }),
      }),
    );

  await put(1, 'attribute_not_exists(jobId)');
  await assert.rejects(put(1, 'attribute_not_exists(jobId)'), ConditionalCheckFailedException);
  await put(2, 'version = :expected', 1);
  // A writer that still believes version 1 is current must lose.
  await assert.rejects(put(3, 'version = :expected', 1), (error: unknown) => {
    assert.ok(error instanceof ConditionalCheckFailedException);
    assert.equal(error.name, 'ConditionalCheckFailedException');
    return true;
  });

  const item = await dynamo.send(new GetItemCommand({ TableName: table, Key: { jobId: { S: 'orders' } }, ConsistentRead: true }));
  assert.equal(item.Item?.version?.N, '2');
  assert.equal(item.Item?.owner?.S, 'instance-2');
});
