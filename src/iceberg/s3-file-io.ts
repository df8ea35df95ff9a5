/**
 * FileIO over Amazon S3 (and S3 Tables warehouse buckets) for `s3://bucket/key` locations.
 * Objects larger than one part go up as multipart uploads while they are written (aborted on
 * failure, so a partial object is never visible); every request has the process's timeouts and
 * is retried under its one retry policy (src/remote), which names S3 when it gives up.
 */
import type { S3ClientConfig, S3Client } from '@aws-sdk/client-s3';
import type { FileIO, OutputFile, S3FileIODescription } from './file-io.js';
import { MIN_PART_BYTES, S3ObjectWriter } from '../storage/s3-object-writer.js';
import { awsClientOptions } from '../remote/aws-client-options.js';
import { callWithRetry } from '../remote/call-with-retry.js';
import { DEFAULT_REMOTE_CALL_SETTINGS, type RemoteCallSettings } from '../remote/remote-call-settings.js';
import { awsS3, isS3NotFound } from '../remote/aws-sdk.js';

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
 * An S3 client with the process's timeouts and no SDK retries of its own (callers retry under
 * the shared policy); with an endpoint override (option or AWS_ENDPOINT_URL[_S3], e.g. moto) it
 * uses path-style addressing, since emulators do not serve virtual-host buckets.
 */
export function createS3Client(config: S3ClientConfig = {}, calls: RemoteCallSettings = DEFAULT_REMOTE_CALL_SETTINGS): S3Client {
  const override = config.endpoint ?? endpointFromEnv();
  return new (awsS3().S3Client)({ ...awsClientOptions(calls.timeouts), ...(override ? { forcePathStyle: true } : {}), ...config });
}

export interface S3FileIOOptions {
  /** Given a client, the FileIO cannot be described for a worker thread (it encodes inline); give `region`/`endpoint` instead. */
  readonly client?: S3Client;
  readonly region?: string;
  /** Endpoint override (default: AWS_ENDPOINT_URL[_S3], e.g. moto); implies path-style addressing. */
  readonly endpoint?: string;
  /** Part size of uploads (default 8 MiB, at least 5 MiB); an object no larger than one part is a single PutObject. */
  readonly partSizeBytes?: number;
  /** Parts of one object uploaded at once (default 4). */
  readonly uploadConcurrency?: number;
  /** Timeouts and retry policy (default: the defaults of src/remote). */
  readonly calls?: RemoteCallSettings;
}

/** A table file uploaded while it is written, part by part (storage/s3-object-writer.ts). */
class S3OutputFile implements OutputFile {
  private readonly upload: S3ObjectWriter;

  constructor(
    readonly location: string,
    io: S3FileIO,
    partSizeBytes: number,
    partConcurrency: number,
  ) {
    const { bucket, key } = parseS3Location(location);
    this.upload = new S3ObjectWriter({ client: io.client, bucket, key, partSizeBytes, partConcurrency, retry: (action, request, signal) => io.retrying(action, request, signal) });
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.upload.write(chunk);
  }

  close(): Promise<number> {
    return this.upload.close();
  }

  abort(): Promise<void> {
    return this.upload.abort();
  }
}

/** FileIO for `s3://` locations. */
export class S3FileIO implements FileIO {
  readonly client: S3Client;
  readonly description: S3FileIODescription | undefined;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly calls: RemoteCallSettings;

  constructor(options: S3FileIOOptions = {}) {
    const endpoint = options.endpoint ?? endpointFromEnv();
    this.calls = options.calls ?? DEFAULT_REMOTE_CALL_SETTINGS;
    this.client = options.client ?? createS3Client({ ...(options.region ? { region: options.region } : {}), ...(endpoint ? { endpoint } : {}) }, this.calls);
    this.partSize = Math.max(MIN_PART_BYTES, options.partSizeBytes ?? 8 * 1024 * 1024);
    this.concurrency = Math.max(1, options.uploadConcurrency ?? 4);
    this.description =
      options.client === undefined
        ? {
            kind: 's3',
            ...(options.region ? { region: options.region } : {}),
            ...(endpoint ? { endpoint } : {}),
            partSizeBytes: this.partSize,
            uploadConcurrency: this.concurrency,
            calls: this.calls,
          }
        : undefined;
  }

  /** Runs one request (`action` names it in failures) under the retry policy; `signal` cancels it. */
  retrying<T>(action: string, op: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return callWithRetry({ dependency: 'S3', action }, op, { policy: this.calls.retry, ...(signal ? { signal } : {}) });
  }

  async write(location: string, bytes: Uint8Array): Promise<void> {
    const file = this.create(location);
    await file.write(bytes);
    await file.close();
  }

  create(location: string): OutputFile {
    return new S3OutputFile(location, this, this.partSize, this.concurrency);
  }

  async read(location: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Location(location);
    return this.retrying(`GetObject ${location}`, async (abortSignal) => {
      const res = await this.client.send(new (awsS3().GetObjectCommand)({ Bucket: bucket, Key: key }), { abortSignal });
      return res.Body!.transformToByteArray();
    });
  }

  async exists(location: string): Promise<boolean> {
    const { bucket, key } = parseS3Location(location);
    try {
      await this.retrying(`HeadObject ${location}`, (abortSignal) => this.client.send(new (awsS3().HeadObjectCommand)({ Bucket: bucket, Key: key }), { abortSignal }));
      return true;
    } catch (error) {
      if (isS3NotFound(error)) return false;
      throw error;
    }
  }

  async delete(location: string): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    await this.retrying(`DeleteObject ${location}`, (abortSignal) => this.client.send(new (awsS3().DeleteObjectCommand)({ Bucket: bucket, Key: key }), { abortSignal }));
  }
}
