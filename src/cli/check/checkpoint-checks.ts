/**
 * `check` of the checkpoint location: a probe object is written, read back, listed and deleted
 * where the job's checkpoints go (a local folder or an S3 bucket/prefix), as the checkpoint store
 * will; for S3 the bucket's region is compared with AWS_REGION.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointLocation } from '../../runtime/checkpoint/checkpoint-store-from-uri.js';
import type { Clock } from '../../runtime/time/clock.js';
import { boundedS3Client } from '../remote/aws-clients.js';
import { withDeadline } from '../remote/deadline.js';
import { describeFailure, fail, pass, type CheckResult } from './check-result.js';
import { awsS3 } from '../../remote/aws-sdk.js';

const ITEM = 'checkpoints (CHECKPOINT_URI)';

export interface CheckpointCheckOptions {
  readonly location: CheckpointLocation;
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

export async function checkCheckpointLocation(options: CheckpointCheckOptions): Promise<CheckResult> {
  const { location } = options;
  return location.kind === 'local' ? checkLocalFolder(ITEM, location.path, 'checkpoints') : checkS3Location(options, location.bucket, location.prefix);
}

/** A local folder is writable: created if needed, a probe file written, read back and deleted. */
export async function checkLocalFolder(item: string, path: string, what: string): Promise<CheckResult> {
  const probe = join(path, `.streamline-check-${randomUUID()}`);
  try {
    await mkdir(path, { recursive: true });
    const content = `probe ${randomUUID()}`;
    await writeFile(probe, content, { flag: 'wx' });
    if ((await readFile(probe, 'utf8')) !== content) return fail(item, `${path}: a probe file read back differently`, 'check the file system');
    await rm(probe);
    return pass(item, `${path} is writable (probe file written, read back, deleted)`);
  } catch (error) {
    await rm(probe, { force: true }).catch(() => undefined);
    return fail(item, `${path}: ${describeFailure(error)}`, `make the folder writable for this user, or put the ${what} elsewhere`);
  }
}

async function checkS3Location(options: CheckpointCheckOptions, bucket: string, prefix: string): Promise<CheckResult> {
  const { clock, timeoutMs } = options;
  const client = boundedS3Client(options.settings, timeoutMs);
  const key = `${prefix ? `${prefix}/` : ''}.streamline-check/${randomUUID()}`;
  const where = `s3://${bucket}/${key}`;
  const call = <T>(what: string, request: (signal: AbortSignal) => Promise<T>) => withDeadline(clock, timeoutMs, `${what} ${where}`, request);
  let written = false;
  try {
    const body = `probe ${randomUUID()}`;
    await call('PutObject', (abortSignal) => client.send(new (awsS3().PutObjectCommand)({ Bucket: bucket, Key: key, Body: body }), { abortSignal }));
    written = true;
    const read = await call('GetObject', async (abortSignal) => (await client.send(new (awsS3().GetObjectCommand)({ Bucket: bucket, Key: key }), { abortSignal })).Body?.transformToString());
    if (read !== body) return fail(ITEM, `${where} read back differently`, 'check what sits in front of the bucket (a proxy, an S3-compatible store)');
    await call('ListObjectsV2', (abortSignal) => client.send(new (awsS3().ListObjectsV2Command)({ Bucket: bucket, Prefix: key, MaxKeys: 1 }), { abortSignal }));
    await call('DeleteObject', (abortSignal) => client.send(new (awsS3().DeleteObjectCommand)({ Bucket: bucket, Key: key }), { abortSignal }));
    written = false;
    const regionNote = await bucketRegionNote(client, bucket, options);
    if (regionNote.mismatch) return fail(ITEM, `s3://${bucket} is writable but ${regionNote.text}`, 'use a checkpoint bucket in the region of the job (AWS_REGION)');
    return pass(ITEM, `s3://${bucket}${prefix ? `/${prefix}` : ''} is writable (probe object written, read back, listed, deleted)${regionNote.text ? `; ${regionNote.text}` : ''}`);
  } catch (error) {
    return fail(ITEM, `s3://${bucket}: ${describeFailure(error)}`, s3Fix(error, bucket, prefix));
  } finally {
    if (written) await call('DeleteObject', (abortSignal) => client.send(new (awsS3().DeleteObjectCommand)({ Bucket: bucket, Key: key }), { abortSignal })).catch(() => undefined);
    client.destroy();
  }
}

async function bucketRegionNote(client: S3Client, bucket: string, options: CheckpointCheckOptions): Promise<{ text: string; mismatch: boolean }> {
  try {
    const { LocationConstraint } = await withDeadline(options.clock, options.timeoutMs, `GetBucketLocation ${bucket}`, (abortSignal) => client.send(new (awsS3().GetBucketLocationCommand)({ Bucket: bucket }), { abortSignal }));
    const region = LocationConstraint || 'us-east-1'; // S3 reports us-east-1 as no constraint
    const configured = options.settings.AWS_REGION || options.settings.AWS_DEFAULT_REGION;
    const mismatch = configured !== undefined && configured !== region;
    return { text: mismatch ? `the bucket is in ${region} while AWS_REGION is ${configured}` : `bucket in ${region}`, mismatch };
  } catch {
    return { text: '', mismatch: false }; // the location is informative; writing worked
  }
}

function s3Fix(error: unknown, bucket: string, prefix: string): string {
  const name = (error as { name?: string }).name;
  if (name === 'NoSuchBucket') return `create the bucket (aws s3 mb s3://${bucket}) or correct CHECKPOINT_URI; checkpoints go to a regular S3 bucket (s3://<bucket>/<prefix>), not to the table bucket`;
  if (name === 'AccessDenied' || name === 'Forbidden') return `grant s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket on s3://${bucket}/${prefix ? `${prefix}/` : ''}*`;
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') return 'the bucket is in another region: set AWS_REGION to it';
  return 'check CHECKPOINT_URI, AWS_REGION, the AWS credentials and the network path to S3';
}
