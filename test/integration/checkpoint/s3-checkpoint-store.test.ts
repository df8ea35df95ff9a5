/**
 * S3CheckpointStore against moto through the AWS SDK: the same contract as the local store,
 * plus multipart uploads, conditional writes between racing writers, and retries.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { StateHandle } from '../../../src/runtime/checkpoint-store.js';
import { S3CheckpointStore, type S3CheckpointStoreOptions } from '../../../src/runtime/checkpoint/s3-checkpoint-store.js';
import { CheckpointError } from '../../../src/errors.js';
import { checkpointStoreContract, writeCheckpoint } from '../../unit/runtime/checkpoint/checkpoint-store-contract.js';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { startSingleThreadedMoto, type SingleThreadedMoto } from '../ha/single-threaded-moto.js';

let client: S3Client;
let bucket: string;
let endpoint: string;

function s3Client(at: string): S3Client {
  return new S3Client({ endpoint: at, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

before(async () => {
  endpoint = (await ensureServices({ moto: true })).awsEndpoint;
  client = s3Client(endpoint);
  bucket = uniqueName('ckpt');
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
});
after(() => client?.destroy());

function storeFor(prefix: string, options: Partial<S3CheckpointStoreOptions> = {}): S3CheckpointStore {
  return new S3CheckpointStore({ client, bucket, prefix, retry: { deadlineMs: 30_000, maxAttempts: Infinity, baseDelayMs: 1, maxDelayMs: 5 }, ...options });
}

checkpointStoreContract('S3CheckpointStore', {
  async create() {
    const prefix = `checkpoints/${uniqueName('p')}`;
    const store = storeFor(prefix);
    const key = (job: string, id: number, name: string): string => `${prefix}/${job}/chk-${id}/${name}`;
    return {
      store,
      jobName: 'orders',
      raw: {
        put: async (job, id, name, bytes) => {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: key(job, id, name), Body: bytes }));
        },
        remove: async (job, id, name) => {
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(job, id, name) }));
        },
        list: async (job) => {
          const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${job}/` }));
          return (page.Contents ?? []).map((o) => o.Key!.slice(`${prefix}/${job}/`.length)).sort();
        },
      },
    };
  },
});

test('S3CheckpointStore: layout is <prefix>/<job>/chk-<id>/… and locations are s3:// URIs', async () => {
  const prefix = `/checkpoints/${uniqueName('layout')}/`;
  const store = storeFor(prefix);
  const clean = prefix.replace(/^\/|\/$/g, '');
  assert.equal(store.uri, `s3://${bucket}/${clean}`);
  await writeCheckpoint(store, 'orders', 3);
  const [completed] = await store.listCompleted('orders');
  assert.equal(completed?.location, `s3://${bucket}/${clean}/orders/chk-3`);
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${clean}/` }));
  assert.deepEqual((page.Contents ?? []).map((o) => o.Key).sort(), [
    `${clean}/orders/chk-3/_metadata`,
    `${clean}/orders/chk-3/orders.dedup.state`,
    `${clean}/orders/chk-3/orders.source.state`,
  ]);
  assert.equal(await store.highestCheckpointId('orders'), 3);
});

test('S3CheckpointStore: large state goes up in parts and reads back verified', async () => {
  const prefix = uniqueName('multipart');
  const store = storeFor(prefix, { multipartThresholdBytes: 6 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 });
  const big = randomBytes(12 * 1024 * 1024 + 17);
  const started = Date.now();
  const handle = await store.writeState('orders', 1, 'orders.window.state', big);
  const writeMs = Date.now() - started;
  assert.equal(handle.bytes, big.byteLength);
  const read = await store.readState('orders', 1, handle);
  assert.ok(Buffer.from(read).equals(big));
  await store.commitMetadata({ formatVersion: 1, jobName: 'orders', checkpointId: 1, triggeredAt: 1, completedAt: 2, operators: { w: handle }, fencingToken: '1' });
  assert.equal((await store.listCompleted('orders')).length, 1);
  // A different writer's large object under the same name is refused and its upload aborted.
  await assert.rejects(store.writeState('orders', 1, 'orders.window.state', randomBytes(big.byteLength)), CheckpointError);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
  assert.equal(uploads.Uploads?.length ?? 0, 0);
  assert.ok(Buffer.from(await store.readState('orders', 1, handle)).equals(big));
  console.log(`# multipart write of ${(big.byteLength / 1024 / 1024).toFixed(1)} MiB took ${writeMs} ms`);
});

test('S3CheckpointStore: the endpoint enforces If-None-Match, so of racing writers exactly one wins', async () => {
  // Racing requests need a server that applies conditional writes atomically (see single-threaded-moto.ts).
  const serial: SingleThreadedMoto = await startSingleThreadedMoto();
  const raceClient = s3Client(serial.endpoint);
  try {
    const raceBucket = uniqueName('race');
    await raceClient.send(new CreateBucketCommand({ Bucket: raceBucket }));
    const store = new S3CheckpointStore({ client: raceClient, bucket: raceBucket, prefix: 'checkpoints' });
    const support = await store.probeConditionalWrites();
    console.log(`# conditional writes (If-None-Match: *) on moto: ${support}`);
    assert.equal(support, 'enforced');
    for (let round = 0; round < 10; round++) {
      const contents = Array.from({ length: 4 }, (_, i) => new TextEncoder().encode(`writer ${i} round ${round}`));
      const writers = contents.map(() => new S3CheckpointStore({ client: raceClient, bucket: raceBucket, prefix: 'checkpoints' }));
      const results = await Promise.allSettled(writers.map((writer, i) => writer.writeState('orders', round, 'orders.dedup.state', contents[i]!)));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof CheckpointError, String(r.reason));
      const handle = (results[winners[0]!] as PromiseFulfilledResult<StateHandle>).value;
      assert.deepEqual(await store.readState('orders', round, handle), contents[winners[0]!]);
    }
  } finally {
    raceClient.destroy();
    await serial.stop();
  }
});

test('S3CheckpointStore: transient errors (503, throttling) are retried; a persistent one fails the checkpoint', async () => {
  const flakyClient = s3Client(endpoint);
  let failuresLeft = 0;
  let injected = 0;
  flakyClient.middlewareStack.add(
    (next) => async (args) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        injected++;
        const name = injected % 2 === 0 ? 'SlowDown' : 'ServiceUnavailable';
        throw Object.assign(new Error(`injected ${name}`), { name, $metadata: { httpStatusCode: 503 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectTransientFailures' },
  );
  try {
    const store = new S3CheckpointStore({ client: flakyClient, bucket, prefix: uniqueName('retry'), retry: { deadlineMs: 30_000, maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 } });
    failuresLeft = 3;
    const handle = await store.writeState('orders', 1, 'a.state', new TextEncoder().encode('survives'));
    assert.equal(injected, 3);
    failuresLeft = 3;
    assert.equal(new TextDecoder().decode(await store.readState('orders', 1, handle)), 'survives');
    failuresLeft = 100;
    await assert.rejects(store.writeState('orders', 2, 'a.state', new TextEncoder().encode('x')), (err: unknown) => {
      assert.ok(err instanceof CheckpointError);
      assert.match(err.message, /Checkpoint 2: could not write s3:\/\/.*a\.state/);
      return true;
    });
  } finally {
    flakyClient.destroy();
  }
});
