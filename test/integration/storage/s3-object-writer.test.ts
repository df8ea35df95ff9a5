/**
 * S3ObjectWriter against moto: parts go up while the object grows, the object is invisible until
 * closed, a small object is one PutObject, abort and failures leave no upload behind, and
 * `If-None-Match: *` refuses to replace an object.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ObjectWriter, S3ObjectWriterClosedError, type S3ObjectWriterOptions } from '../../../src/storage/s3-object-writer.js';
import { ensureServices, uniqueName } from '../../helpers/services.js';

const MiB = 1024 * 1024;
let client: S3Client;
let bucket: string;

before(async () => {
  const { awsEndpoint } = await ensureServices({ moto: true });
  client = new S3Client({ endpoint: awsEndpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  bucket = uniqueName('objwriter-');
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
});
after(() => client?.destroy());

function writerFor(key: string, options: Partial<S3ObjectWriterOptions> = {}): S3ObjectWriter {
  return new S3ObjectWriter({ client, bucket, key, partSizeBytes: 5 * MiB, partConcurrency: 2, retry: (_action, request, signal) => request(signal), ...options });
}

async function exists(key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

async function read(key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function uploadsUnder(key: string): Promise<{ Key?: string; UploadId?: string }[]> {
  return (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? [];
}

test('parts go up while the object grows; it appears complete at close and nowhere before', async () => {
  const key = `grow/${uniqueName('o')}`;
  const writer = writerFor(key);
  const bytes = randomBytes(12 * MiB + 321);
  for (let offset = 0; offset < 11 * MiB; offset += MiB) await writer.write(bytes.subarray(offset, offset + MiB));
  // 11 MiB written: two 5 MiB parts are (being) uploaded, the object is not visible.
  const [upload] = await uploadsUnder(key);
  assert.ok(upload?.UploadId, 'a multipart upload is open while the object grows');
  assert.equal(await exists(key), false);
  await writer.write(bytes.subarray(11 * MiB));
  assert.equal(await writer.close(), bytes.byteLength);
  assert.ok((await read(key)).equals(bytes));
  assert.deepEqual(await uploadsUnder(key), [], 'no upload left open');
});

test('an object no larger than one part is a single PutObject', async () => {
  const key = `small/${uniqueName('o')}`;
  const writer = writerFor(key);
  const bytes = randomBytes(5 * MiB);
  await writer.write(bytes.subarray(0, MiB));
  await writer.write(bytes.subarray(MiB));
  assert.deepEqual(await uploadsUnder(key), [], 'no multipart upload for a one-part object');
  assert.equal(await writer.close(), 5 * MiB);
  assert.ok((await read(key)).equals(bytes));
});

test('abort discards the uploaded parts and the object never appears', async () => {
  const key = `abort/${uniqueName('o')}`;
  const writer = writerFor(key);
  await writer.write(randomBytes(11 * MiB));
  const [upload] = await uploadsUnder(key);
  assert.ok(upload?.UploadId);
  await writer.abort();
  assert.deepEqual(await uploadsUnder(key), []);
  await assert.rejects(client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId })), /NoSuchUpload|does not exist/);
  assert.equal(await exists(key), false);
  await assert.rejects(writer.write(new Uint8Array(1)), S3ObjectWriterClosedError);
  await assert.rejects(writer.close(), S3ObjectWriterClosedError);
});

test('a failed part aborts the upload and every later call rethrows the S3 error', async () => {
  const key = `fail/${uniqueName('o')}`;
  const missing = uniqueName('missing-bucket-');
  const writer = new S3ObjectWriter({ client, bucket: missing, key, partSizeBytes: 5 * MiB, partConcurrency: 1, retry: (_action, request, signal) => request(signal) });
  await assert.rejects(
    (async () => {
      for (let i = 0; i < 4; i++) await writer.write(randomBytes(3 * MiB));
    })(),
    /NoSuchBucket|does not exist/,
  );
  await assert.rejects(writer.close(), /NoSuchBucket|does not exist/);
});

test('with ifNoneMatch an existing object is not replaced (single put and multipart)', async () => {
  for (const size of [MiB, 11 * MiB]) {
    const key = `cond/${uniqueName('o')}`;
    const first = writerFor(key, { ifNoneMatch: true });
    await first.write(randomBytes(size));
    await first.close();
    const original = await read(key);
    const second = writerFor(key, { ifNoneMatch: true });
    await second.write(randomBytes(size));
    await assert.rejects(second.close(), (e: Error & { $metadata?: { httpStatusCode?: number } }) => e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412);
    assert.ok((await read(key)).equals(original), `object of ${size} bytes kept`);
    assert.deepEqual(await uploadsUnder(key), []);
  }
});
