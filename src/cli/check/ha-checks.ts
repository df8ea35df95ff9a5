/**
 * `check` of the HA store: the DynamoDB table (key schema, status, a probe item written, read and
 * deleted) or the local folder; then the job's pointer for this checkpoint location, which must
 * name a checkpoint the location still holds.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';
import { checkpointStoreFromUri } from '../../runtime/checkpoint/checkpoint-store-from-uri.js';
import { missingPointedCheckpoint } from '../../runtime/execution/restore-planner.js';
import type { HaStore } from '../../runtime/ha-store.js';
import { haStoreFromConfig } from '../../runtime/ha/ha-store-from-config.js';
import type { Clock } from '../../runtime/time/clock.js';
import { boundedDynamoClient, boundedS3Client } from '../remote/aws-clients.js';
import { withDeadline } from '../remote/deadline.js';
import { checkLocalFolder } from './checkpoint-checks.js';
import { describeFailure, fail, pass, skipped, type CheckResult } from './check-result.js';
import { DEFAULT_RETRY_POLICY } from '../../remote/retry-policy.js';
import { awsDynamoDb } from '../../remote/aws-sdk.js';

export interface HaCheckOptions {
  readonly jobName: string;
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly workDir: string;
  readonly checkpointUri: string;
  /** Whether the checkpoint location passed its own check (the pointer is compared with what it holds). */
  readonly checkpointsReachable: boolean;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

const STORE = 'HA store (DYNAMODB_TABLE)';
const POINTER = 'HA pointer';

export async function* checkHa(options: HaCheckOptions): AsyncGenerator<CheckResult> {
  const table = options.settings.DYNAMODB_TABLE?.trim();
  const dynamo = table ? boundedDynamoClient(options.settings, options.timeoutMs) : undefined;
  try {
    const store = dynamo && table ? await dynamoTableResult(dynamo, table, options) : { result: await checkLocalFolder(STORE, join(options.workDir, 'ha'), 'HA store (set DYNAMODB_TABLE or STREAMLINE_WORK_DIR)'), exists: true };
    yield store.result;
    if (store.result.status !== 'pass' || !store.exists) {
      yield skipped(POINTER, store.result.status === 'pass' ? 'no HA table yet, so no pointer' : 'HA store not usable');
      return;
    }
    if (!options.checkpointsReachable) {
      yield skipped(POINTER, 'checkpoint location not usable');
      return;
    }
    const ha = haStoreFromConfig({ localDir: join(options.workDir, 'ha'), env: options.settings, createTable: false, ...(dynamo ? { dynamoClient: dynamo } : {}) });
    const checkpoints = checkpointStoreFromUri(options.checkpointUri, { env: options.settings, ...(options.checkpointUri.startsWith('s3:') ? { s3Client: boundedS3Client(options.settings, options.timeoutMs) } : {}), s3: { retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 } } });
    yield await pointerResult(ha, checkpoints, options);
  } finally {
    dynamo?.destroy();
  }
}

/** The table's check, and whether it exists (a missing one is fine: the first run creates it). */
async function dynamoTableResult(client: DynamoDBClient, table: string, options: HaCheckOptions): Promise<{ result: CheckResult; exists: boolean }> {
  const result = await describeDynamoTable(client, table, options);
  return { result: result ?? pass(STORE, `table '${table}' does not exist yet: the first run creates it (on-demand billing; needs dynamodb:CreateTable)`), exists: result !== undefined };
}

/** undefined when the table does not exist. */
async function describeDynamoTable(client: DynamoDBClient, table: string, options: HaCheckOptions): Promise<CheckResult | undefined> {
  const call = <T>(what: string, request: (signal: AbortSignal) => Promise<T>) => withDeadline(options.clock, options.timeoutMs, `${what} ${table}`, request);
  let described;
  try {
    described = (await call('DescribeTable', (abortSignal) => client.send(new (awsDynamoDb().DescribeTableCommand)({ TableName: table }), { abortSignal }))).Table;
  } catch (error) {
    if (error instanceof awsDynamoDb().ResourceNotFoundException) return undefined;
    return fail(STORE, describeFailure(error), 'check AWS_REGION, the credentials (dynamodb:DescribeTable, GetItem, PutItem, UpdateItem, DeleteItem on the table) and the network path to DynamoDB');
  }
  const keys = (described?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).sort().join(',');
  if (keys !== 'pk:HASH,sk:RANGE') return fail(STORE, `table '${table}' has key schema [${keys}]`, 'the HA store needs string keys pk (HASH) and sk (RANGE): name a new table in DYNAMODB_TABLE and the first run creates it');
  if (described?.TableStatus !== 'ACTIVE') return fail(STORE, `table '${table}' is ${described?.TableStatus ?? 'in an unknown state'}`, 'wait until it is ACTIVE');
  // A probe item of its own partition key: never one of a job's items.
  const key = { pk: { S: `check#${randomUUID()}` }, sk: { S: 'probe' } };
  try {
    await call('PutItem', (abortSignal) => client.send(new (awsDynamoDb().PutItemCommand)({ TableName: table, Item: { ...key, probe: { S: 'streamline check' } } }), { abortSignal }));
    const read = await call('GetItem', (abortSignal) => client.send(new (awsDynamoDb().GetItemCommand)({ TableName: table, Key: key, ConsistentRead: true }), { abortSignal }));
    await call('DeleteItem', (abortSignal) => client.send(new (awsDynamoDb().DeleteItemCommand)({ TableName: table, Key: key }), { abortSignal }));
    if (read.Item?.probe?.S !== 'streamline check') return fail(STORE, `table '${table}': a probe item read back differently`, 'check what else writes to the table');
    return pass(STORE, `table '${table}' is ACTIVE with keys pk/sk; a probe item was written, read and deleted`);
  } catch (error) {
    return fail(STORE, `table '${table}': ${describeFailure(error)}`, 'grant dynamodb:GetItem, PutItem, UpdateItem and DeleteItem on the table');
  }
}

async function pointerResult(ha: HaStore, checkpoints: CheckpointStore, options: HaCheckOptions): Promise<CheckResult> {
  try {
    const pointer = await withDeadline(options.clock, options.timeoutMs, 'reading the HA pointer', () => ha.readPointer(options.jobName, checkpoints.uri));
    if (pointer === undefined) return pass(POINTER, `no checkpoint published yet for ${checkpoints.uri}`);
    const highest = await withDeadline(options.clock, options.timeoutMs, 'listing checkpoints', () => checkpoints.highestCheckpointId(options.jobName));
    if (highest === undefined || highest < pointer.checkpointId) {
      return fail(POINTER, `names checkpoint ${pointer.checkpointId}, which ${checkpoints.uri} does not hold`, missingPointedCheckpoint({ ha: ha.uri, scope: options.jobName, checkpoints: checkpoints.uri, pointed: pointer.checkpointId, highest }));
    }
    return pass(POINTER, `checkpoint ${pointer.checkpointId} in ${checkpoints.uri} (published with fencing token ${pointer.fencingToken})`);
  } catch (error) {
    return fail(POINTER, describeFailure(error), 'check access to the HA store and the checkpoint location');
  } finally {
    await ha.close().catch(() => undefined);
  }
}
