/**
 * FileIO over Amazon S3 (and S3 Tables warehouse buckets) for `s3://bucket/key` locations.
 * Large objects go up as multipart uploads (aborted on failure, so a partial object is never
 * visible); every request is retried with exponential backoff and jitter on transient errors
 * (5xx, throttling, timeouts, connection resets), on top of the SDK's own retries.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { FileIO } from './file-io.js';
import { backoffDelayMs, sleep, type BackoffOptions } from './retry-backoff.js';

/** `s3://bucket/key/with/slashes` → bucket and key. */
export function parseS3Location(location: string): { bucket: string; key: string } {
  const m = /^s3a?:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!m) throw new Error(`not an s3:// object location: ${location}`);
  return { bucket: m[1]!, key: m[2]! };
}

/** Endpoint override from the environment (the SDK reads these itself; we only need to know one is set). */
function endpointFromEnv(): string | undefined {
  return process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
}

/**
 * An S3 client; with an endpoint override (option or AWS_ENDPOINT_URL[_S3], e.g. moto) it uses
 * path-style addressing, since emulators do not serve virtual-host buckets.
 */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  const override = config.endpoint ?? endpointFromEnv();
  return new S3Client({ ...(override ? { forcePathStyle: true } : {}), ...config });
}

export interface S3FileIOOptions {
  readonly client?: S3Client;
  /** Objects at least this large are uploaded in parts (default 16 MiB). */
  readonly multipartThresholdBytes?: number;
  /** Part size (default 8 MiB; S3's minimum is 5 MiB except for the last part). */
  readonly partSizeBytes?: number;
  /** Parts uploaded at once (default 4). */
  readonly uploadConcurrency?: number;
  /** Attempts per request including the first (default 5). */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
}

const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'InternalError', 'ServiceUnavailable', 'Throttling', 'ThrottlingException']);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

/** True for errors worth retrying: server faults, throttling, network failures. */
export function isTransientS3Error(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return (
    e?.$retryable !== undefined ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    TRANSIENT_NAMES.has(e?.name ?? '') ||
    TRANSIENT_CODES.has(e?.code ?? '')
  );
}

/** FileIO for `s3://` locations. */
export class S3FileIO implements FileIO {
  readonly client: S3Client;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;

  constructor(options: S3FileIOOptions = {}) {
    this.client = options.client ?? createS3Client();
    this.threshold = options.multipartThresholdBytes ?? 16 * 1024 * 1024;
    this.partSize = Math.max(5 * 1024 * 1024, options.partSizeBytes ?? 8 * 1024 * 1024);
    this.concurrency = Math.max(1, options.uploadConcurrency ?? 4);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.backoff = options.backoff ?? { baseDelayMs: 100, maxDelayMs: 5000 };
  }

  private async retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (error) {
        if (attempt + 1 >= this.maxAttempts || !isTransientS3Error(error)) {
          if (error instanceof Error && attempt > 0) error.message = `${what}: ${error.message} (after ${attempt + 1} attempts)`;
          throw error;
        }
        await sleep(backoffDelayMs(attempt, this.backoff));
      }
    }
  }

  async write(location: string, bytes: Uint8Array): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    if (bytes.byteLength < this.threshold) {
      await this.retrying(`PutObject ${location}`, () => this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes })));
      return;
    }
    await this.writeMultipart(location, bucket, key, bytes);
  }

  private async writeMultipart(location: string, bucket: string, key: string, bytes: Uint8Array): Promise<void> {
    const created = await this.retrying(`CreateMultipartUpload ${location}`, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })),
    );
    const uploadId = created.UploadId!;
    try {
      const count = Math.ceil(bytes.byteLength / this.partSize);
      const etags: string[] = new Array(count);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          const body = bytes.subarray(i * this.partSize, Math.min(bytes.byteLength, (i + 1) * this.partSize));
          const res = await this.retrying(`UploadPart ${i + 1} of ${location}`, () =>
            this.client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body })),
          );
          etags[i] = res.ETag!;
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, count) }, worker));
      await this.retrying(`CompleteMultipartUpload ${location}`, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        ),
      );
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  async read(location: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Location(location);
    return this.retrying(`GetObject ${location}`, async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return res.Body!.transformToByteArray();
    });
  }

  async exists(location: string): Promise<boolean> {
    const { bucket, key } = parseS3Location(location);
    try {
      await this.retrying(`HeadObject ${location}`, () => this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
      return true;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  async delete(location: string): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    await this.retrying(`DeleteObject ${location}`, () => this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
  }
}
