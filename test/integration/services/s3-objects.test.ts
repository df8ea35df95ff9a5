import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ensureServices, uniqueName } from '../../helpers/services.js';

let s3: S3Client;
const hostsContacted: string[] = [];

before(async () => {
  const { region } = await ensureServices({ moto: true });
  // No endpoint here on purpose: the SDK must pick up AWS_ENDPOINT_URL set by ensureServices.
  s3 = new S3Client({ region, forcePathStyle: true });
  s3.middlewareStack.add(
    (next) => async (args) => {
      hostsContacted.push((args.request as { hostname: string }).hostname);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordHost' },
  );
});

test('S3 put, get and list round trip through moto, on 127.0.0.1 only', async () => {
  const bucket = uniqueName('smoke-');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const objects = new Map([
    ['checkpoints/chk-1/_metadata', '{"checkpointId":1}'],
    ['checkpoints/chk-2/_metadata', '{"checkpointId":2}'],
    ['other/readme.txt', 'not a checkpoint'],
  ]);
  for (const [key, body] of objects) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
  }

  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'checkpoints/chk-2/_metadata' }));
  assert.equal(await got.Body!.transformToString(), '{"checkpointId":2}');

  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'checkpoints/' }));
  assert.deepEqual(
    (listed.Contents ?? []).map((o) => o.Key).sort(),
    ['checkpoints/chk-1/_metadata', 'checkpoints/chk-2/_metadata'],
  );

  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' })), { name: 'NoSuchKey' });

  assert.ok(hostsContacted.length >= 6);
  assert.deepEqual([...new Set(hostsContacted)], ['127.0.0.1']);
});
