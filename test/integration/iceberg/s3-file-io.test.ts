/** S3FileIO against moto: endpoint from AWS_ENDPOINT_URL, path-style, single and multipart writes. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { createS3Client, S3FileIO } from '../../../src/iceberg/s3-file-io.js';
import { DEFAULT_REMOTE_CALL_SETTINGS } from '../../../src/remote/remote-call-settings.js';
import { ensureServices, uniqueName } from '../../helpers/services.js';

let bucket = '';

before(async () => {
  const services = await ensureServices({ moto: true });
  assert.equal(process.env['AWS_ENDPOINT_URL'], services.awsEndpoint);
  bucket = uniqueName('icemeta-io-');
  await createS3Client().send(new CreateBucketCommand({ Bucket: bucket }));
});

test('client from the environment uses the endpoint override with path-style addressing', async () => {
  const client = createS3Client();
  assert.equal(await client.config.forcePathStyle, true);
  const io = new S3FileIO({ client });
  const loc = `s3://${bucket}/a/b/small.bin`;
  assert.equal(await io.exists(loc), false);
  await io.write(loc, new Uint8Array([1, 2, 3]));
  assert.equal(await io.exists(loc), true);
  assert.deepEqual(await io.read(loc), new Uint8Array([1, 2, 3]));
  await io.delete(loc);
  assert.equal(await io.exists(loc), false);
});

test('large objects go up in parts and read back byte-identical', async () => {
  const io = new S3FileIO({ partSizeBytes: 5 * 1024 * 1024 });
  const bytes = new Uint8Array(randomBytes(11 * 1024 * 1024 + 123));
  const loc = `s3://${bucket}/big/object.parquet`;
  await io.write(loc, bytes);
  const back = await io.read(loc);
  assert.equal(back.byteLength, bytes.byteLength);
  assert.ok(Buffer.from(back).equals(Buffer.from(bytes)));
  const pending = await io.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  assert.equal(pending.Uploads?.length ?? 0, 0, 'no dangling multipart uploads');
});

test('a write to a missing bucket fails fast with the S3 error (not retried as transient)', async () => {
  const io = new S3FileIO({ partSizeBytes: 5 * 1024 * 1024, calls: { ...DEFAULT_REMOTE_CALL_SETTINGS, retry: { deadlineMs: 1_000, maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } } });
  await assert.rejects(io.write(`s3://${uniqueName('missing-bucket-')}/x`, new Uint8Array(7 * 1024 * 1024)), /NoSuchBucket|does not exist/);
});
