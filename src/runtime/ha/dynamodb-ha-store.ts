/**
 * HA store on DynamoDB (the production role of Flink's ZooKeeper / Kubernetes HA services).
 *
 * Items, keyed `pk = job#<name>`:
 *   sk = 'lease'                      owner, expiresAt (epoch ms), fencingToken (N, only ever incremented)
 *   sk = 'checkpoint#<location>'      per checkpoint location (a checkpoint store's URI, CHECKPOINT_URI):
 *                                     checkpointId, location, fencingToken of the publisher, checkpoints
 * (An item `sk = 'checkpoint'` written by earlier versions, one per job whatever the location, is
 * ignored: a start without a pointer restores the newest readable checkpoint of its location.)
 * Every write is conditional, so the table itself refuses a stale holder; the pointer update is a
 * transaction that also checks the lease item, so "only the token holder" and "only forward"
 * are decided atomically by DynamoDB.
 */
import type { AttributeValue, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { ConfigError, StreamlineError } from '../../errors.js';
import type { CheckpointPointer, HaCallOptions, HaStore, Lease, LeaseHolder } from '../ha-store.js';
import type { Logger } from '../logger.js';
import { assertJobName } from '../checkpoint/checkpoint-layout.js';
import { callWithRetry } from '../../remote/call-with-retry.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../remote/retry-policy.js';
import { isTransientFailure } from '../../remote/transient-failure.js';
import { leaseLost, pointerNotNewer, staleToken, type HolderView } from './ha-refusals.js';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';
import { abortable } from '../../remote/abortable.js';
import { awsDynamoDb } from '../../remote/aws-sdk.js';

/** Options of DynamoDbHaStore. */
export interface DynamoDbHaStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Create the table (on-demand billing) when it does not exist. Default true. */
  readonly createTable?: boolean;
  /** How long to wait for a new table to become ACTIVE. Default 120 s. */
  readonly tableActiveTimeoutMs?: number;
  /** Retry policy of every request (default: src/remote's); the client should carry the process's timeouts. */
  readonly retry?: RetryPolicy;
  readonly logger?: Logger;
  /** Wall clock for lease expiry (tests move it by hand). Hosts must keep clocks in sync (NTP). */
  readonly clock?: Clock;
}

const NAMES = { '#owner': 'owner', '#exp': 'expiresAt', '#tok': 'fencingToken' };

/** HaStore backed by one DynamoDB table (`pk`/`sk` string keys). */
export class DynamoDbHaStore implements HaStore {
  readonly uri: string;
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly clock: Clock;
  private tableReady: Promise<void> | undefined;

  constructor(private readonly options: DynamoDbHaStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.uri = `dynamodb://${options.tableName}`;
    this.clock = options.clock ?? systemClock;
  }

  async tryAcquire(jobName: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    assertTtl(ttlMs);
    await this.ensureTable();
    const now = this.clock.now();
    try {
      const result = await this.retry(`acquire the lease of job '${jobName}'`, (abortSignal) =>
        this.client.send(
          new (awsDynamoDb().UpdateItemCommand)({
            TableName: this.tableName,
            Key: key(jobName, 'lease'),
            // The same owner may re-acquire: a retried request whose first attempt landed then succeeds.
            ConditionExpression: 'attribute_not_exists(pk) OR #exp <= :now OR #owner = :owner',
            UpdateExpression: 'SET #owner = :owner, #exp = :exp, #tok = if_not_exists(#tok, :zero) + :one',
            ExpressionAttributeNames: NAMES,
            ExpressionAttributeValues: {
              ':owner': { S: owner },
              ':now': { N: String(now) },
              ':exp': { N: String(now + ttlMs) },
              ':zero': { N: '0' },
              ':one': { N: '1' },
            },
            ReturnValues: 'ALL_NEW',
          }),
          { abortSignal },
        ),
      );
      const item = result.Attributes ?? {};
      return { jobName, owner, expiresAt: Number(item.expiresAt?.N), fencingToken: BigInt(item.fencingToken?.N ?? '0') };
    } catch (err) {
      if (err instanceof awsDynamoDb().ConditionalCheckFailedException) return undefined;
      throw this.wrap(err, `acquire the lease of job '${jobName}'`);
    }
  }

  async renew(lease: Lease, ttlMs: number, options: HaCallOptions = {}): Promise<Lease> {
    assertTtl(ttlMs);
    await abortable(this.ensureTable(), options.signal);
    const expiresAt = this.clock.now() + ttlMs;
    try {
      await this.retry(`renew the lease of job '${lease.jobName}'`, (abortSignal) => this.client.send(this.holderUpdate(lease, expiresAt), { abortSignal }), options);
      return { ...lease, expiresAt };
    } catch (err) {
      if (err instanceof awsDynamoDb().ConditionalCheckFailedException) throw leaseLost(lease, await this.readHolder(lease.jobName));
      throw this.wrap(err, `renew the lease of job '${lease.jobName}'`);
    }
  }

  async release(lease: Lease, options: HaCallOptions = {}): Promise<void> {
    await abortable(this.ensureTable(), options.signal);
    try {
      // Owner and token stay: the token must keep increasing after a release.
      await this.retry(`release the lease of job '${lease.jobName}'`, (abortSignal) => this.client.send(this.holderUpdate(lease, 0), { abortSignal }), options);
    } catch (err) {
      if (err instanceof awsDynamoDb().ConditionalCheckFailedException) return; // already lost: nothing to give up
      throw this.wrap(err, `release the lease of job '${lease.jobName}'`);
    }
  }

  async readLease(jobName: string): Promise<LeaseHolder | undefined> {
    const holder = await this.readHolder(jobName);
    if (holder?.owner === undefined) return undefined;
    return { owner: holder.owner, fencingToken: holder.fencingToken ?? 0n, expiresAt: holder.expiresAt ?? 0 };
  }

  async readPointer(jobName: string, checkpoints: string): Promise<CheckpointPointer | undefined> {
    const item = await this.getItem(jobName, pointerSortKey(checkpoints));
    if (item?.checkpointId?.N === undefined) return undefined;
    return { checkpointId: Number(item.checkpointId.N), location: item.location?.S ?? '', fencingToken: BigInt(item.fencingToken?.N ?? '0') };
  }

  async publishPointer(lease: Lease, checkpoints: string, pointer: Omit<CheckpointPointer, 'fencingToken'>): Promise<void> {
    await this.ensureTable();
    const token = { N: lease.fencingToken.toString() };
    const command = new (awsDynamoDb().TransactWriteItemsCommand)({
      TransactItems: [
        {
          ConditionCheck: {
            TableName: this.tableName,
            Key: key(lease.jobName, 'lease'),
            ConditionExpression: '#owner = :owner AND #tok = :tok',
            ExpressionAttributeNames: { '#owner': 'owner', '#tok': 'fencingToken' },
            ExpressionAttributeValues: { ':owner': { S: lease.owner }, ':tok': token },
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: key(lease.jobName, pointerSortKey(checkpoints)),
            ConditionExpression: 'attribute_not_exists(#cid) OR #cid < :cid',
            UpdateExpression: 'SET #cid = :cid, #loc = :loc, #tok = :tok, #chk = :chk',
            ExpressionAttributeNames: { '#cid': 'checkpointId', '#loc': 'location', '#tok': 'fencingToken', '#chk': 'checkpoints' },
            ExpressionAttributeValues: { ':cid': { N: String(pointer.checkpointId) }, ':loc': { S: pointer.location }, ':tok': token, ':chk': { S: checkpoints } },
          },
        },
      ],
    });
    try {
      await this.retry(`publish checkpoint ${pointer.checkpointId} of job '${lease.jobName}'`, (abortSignal) => this.client.send(command, { abortSignal }), {}, isTransactionConflict);
    } catch (err) {
      if (!(err instanceof awsDynamoDb().TransactionCanceledException) || isTransactionConflict(err)) {
        throw this.wrap(err, `publish checkpoint ${pointer.checkpointId} of job '${lease.jobName}'`);
      }
      // Decide from the items themselves; cancellation reasons are not always reported.
      const holder = await this.readHolder(lease.jobName);
      if (holder?.owner !== lease.owner || holder.fencingToken !== lease.fencingToken) throw staleToken(lease, pointer.checkpointId, holder);
      const published = await this.readPointer(lease.jobName, checkpoints);
      if (published === undefined) throw this.wrap(err, `publish checkpoint ${pointer.checkpointId} of job '${lease.jobName}'`);
      const retriedWrite = published.checkpointId === pointer.checkpointId && published.location === pointer.location &&
        published.fencingToken === lease.fencingToken;
      if (retriedWrite) return;
      throw pointerNotNewer(lease, checkpoints, pointer.checkpointId, published.checkpointId);
    }
  }

  async currentToken(jobName: string): Promise<bigint> {
    return BigInt((await this.getItem(jobName, 'lease'))?.fencingToken?.N ?? '0');
  }

  async close(): Promise<void> {}

  /** Creates the table if missing and waits until it is ACTIVE; later calls reuse the result. */
  ensureTable(): Promise<void> {
    this.tableReady ??= this.prepareTable().catch((err: unknown) => {
      this.tableReady = undefined; // let the next call try again
      throw err;
    });
    return this.tableReady;
  }

  private holderUpdate(lease: Lease, expiresAt: number): UpdateItemCommand {
    return new (awsDynamoDb().UpdateItemCommand)({
      TableName: this.tableName,
      Key: key(lease.jobName, 'lease'),
      ConditionExpression: '#owner = :owner AND #tok = :tok',
      UpdateExpression: 'SET #exp = :exp',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':owner': { S: lease.owner }, ':tok': { N: lease.fencingToken.toString() }, ':exp': { N: String(expiresAt) } },
    });
  }

  private async readHolder(jobName: string): Promise<HolderView | undefined> {
    const item = await this.getItem(jobName, 'lease');
    if (item === undefined) return undefined;
    return {
      owner: item.owner?.S,
      fencingToken: item.fencingToken?.N === undefined ? undefined : BigInt(item.fencingToken.N),
      expiresAt: item.expiresAt?.N === undefined ? undefined : Number(item.expiresAt.N),
    };
  }

  private async getItem(jobName: string, sk: string): Promise<Record<string, AttributeValue> | undefined> {
    await this.ensureTable();
    try {
      const result = await this.retry(`read the ${sk} item of job '${jobName}'`, (abortSignal) =>
        this.client.send(new (awsDynamoDb().GetItemCommand)({ TableName: this.tableName, Key: key(jobName, sk), ConsistentRead: true }), { abortSignal }),
      );
      return result.Item;
    } catch (err) {
      throw this.wrap(err, `read the ${sk} item of job '${jobName}'`);
    }
  }

  private async prepareTable(): Promise<void> {
    let status = await this.describeTable();
    if (status === undefined) {
      if (this.options.createTable === false) throw new ConfigError('DYNAMODB_TABLE', `table '${this.tableName}' does not exist`);
      this.options.logger?.info({ table: this.tableName }, 'creating DynamoDB HA table (on-demand billing)');
      try {
        await this.retry(`create table '${this.tableName}'`, (abortSignal) =>
          this.client.send(
            new (awsDynamoDb().CreateTableCommand)({
              TableName: this.tableName,
              BillingMode: 'PAY_PER_REQUEST',
              AttributeDefinitions: [
                { AttributeName: 'pk', AttributeType: 'S' },
                { AttributeName: 'sk', AttributeType: 'S' },
              ],
              KeySchema: [
                { AttributeName: 'pk', KeyType: 'HASH' },
                { AttributeName: 'sk', KeyType: 'RANGE' },
              ],
            }),
            { abortSignal },
          ),
        );
      } catch (err) {
        // Another instance created it at the same moment.
        if (!(err instanceof awsDynamoDb().ResourceInUseException)) throw this.wrap(err, `create table '${this.tableName}'`);
      }
      status = await this.describeTable();
    }
    const deadline = this.clock.monotonic() + (this.options.tableActiveTimeoutMs ?? 120_000);
    while (status !== 'ACTIVE') {
      if (this.clock.monotonic() > deadline) throw new StreamlineError(`DynamoDB table '${this.tableName}' is still ${status ?? 'missing'}; gave up waiting`, { retriable: true });
      await this.clock.sleep(250);
      status = await this.describeTable();
    }
  }

  // Table status, or undefined when the table does not exist; checks the key schema.
  private async describeTable(): Promise<string | undefined> {
    try {
      const { Table: table } = await this.retry(`describe table '${this.tableName}'`, (abortSignal) => this.client.send(new (awsDynamoDb().DescribeTableCommand)({ TableName: this.tableName }), { abortSignal }));
      const keys = (table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).sort().join(',');
      if (keys !== 'pk:HASH,sk:RANGE') {
        throw new ConfigError('DYNAMODB_TABLE', `table '${this.tableName}' has key schema [${keys}]; the HA store needs string keys pk (HASH) and sk (RANGE)`);
      }
      return table?.TableStatus;
    } catch (err) {
      if (err instanceof awsDynamoDb().ResourceNotFoundException) return undefined;
      if (err instanceof StreamlineError) throw err;
      throw this.wrap(err, `describe table '${this.tableName}'`);
    }
  }

  /** One request under the retry policy (a failed condition is not retried: callers decide). */
  private retry<T>(
    action: string,
    operation: (abortSignal: AbortSignal | undefined) => Promise<T>,
    call: HaCallOptions = {},
    alsoRetriable: (err: unknown) => boolean = () => false,
  ): Promise<T> {
    return callWithRetry({ dependency: 'DynamoDB', action: `${action} (table ${this.tableName})` }, operation, {
      policy: this.options.retry ?? DEFAULT_RETRY_POLICY,
      ...(call.signal ? { signal: call.signal } : {}),
      ...(call.attemptTimeoutMs !== undefined ? { attemptTimeoutMs: call.attemptTimeoutMs } : {}),
      isRetriable: (err) => isTransientFailure(err) || alsoRetriable(err),
      clock: this.clock,
      onRetry: (err, attempt, delayMs) => this.options.logger?.warn({ err: (err as Error).message, attempt, delayMs, store: this.uri }, 'DynamoDB request failed; retrying'),
    });
  }

  private wrap(err: unknown, action: string): StreamlineError {
    if (err instanceof StreamlineError) return err;
    const retriable = isTransientFailure(err) || isTransactionConflict(err);
    return new StreamlineError(`HA store ${this.uri}: could not ${action}: ${(err as Error).message}`, { retriable, cause: err });
  }
}

/** Longest checkpoint location kept readable in a sort key (DynamoDB allows 1024 bytes); longer ones are hashed. */
const MAX_READABLE_LOCATION_BYTES = 900;

/** `checkpoint#<location>`: the item of one checkpoint location's pointer. */
function pointerSortKey(checkpoints: string): string {
  if (checkpoints === '') throw new StreamlineError('an HA pointer needs the checkpoint location it belongs to');
  if (Buffer.byteLength(checkpoints) <= MAX_READABLE_LOCATION_BYTES) return `checkpoint#${checkpoints}`;
  return `checkpoint#sha256:${createHash('sha256').update(checkpoints).digest('hex')}`;
}

function key(jobName: string, sk: string): Record<string, AttributeValue> {
  assertJobName(jobName);
  return { pk: { S: `job#${jobName}` }, sk: { S: sk } };
}

function isTransactionConflict(err: unknown): boolean {
  return err instanceof awsDynamoDb().TransactionCanceledException && (err.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict');
}

function assertTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new StreamlineError(`lease TTL must be a positive number of milliseconds, got ${ttlMs}`);
}
