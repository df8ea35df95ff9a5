/**
 * One S3 object written as a stream of chunks, uploaded while it grows: bytes collect into parts
 * and a part goes up as soon as it is full and more bytes follow, at most `partConcurrency` at a
 * time (then `write` waits: memory stays at about `(partConcurrency + 1) × partSizeBytes`).
 * `close()` completes the multipart upload; an object that never outgrew one part is sent as a
 * single PutObject instead. Nothing is visible before `close()` resolves — a multipart upload is
 * invisible until completed — and any failure aborts the upload (its parts are billed until
 * then), and cancels the requests in flight. Shared by the checkpoint store and the Iceberg FileIO,
 * each passing its retry (the shared policy of src/remote, bound to its logging).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { StreamlineError } from '../errors.js';
import { awsS3 } from '../remote/aws-sdk.js';

/** S3's smallest part, except the last one. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface S3ObjectWriterOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Bytes per part; raised to S3's minimum of 5 MiB. */
  readonly partSizeBytes: number;
  /** Parts uploading at once before `write` waits (at least 1). */
  readonly partConcurrency: number;
  /** Refuse to replace an existing object: `If-None-Match: *` on PutObject or CompleteMultipartUpload. */
  readonly ifNoneMatch?: boolean;
  /**
   * Runs one S3 request (named by `action`), retrying it on transient failures (the caller's
   * policy); `signal` cancels it when the upload is aborted and must reach the SDK's `abortSignal`.
   */
  readonly retry: <T>(action: string, request: (signal: AbortSignal | undefined) => Promise<T>, signal: AbortSignal) => Promise<T>;
}

/** The writer was aborted (or failed) before this call. */
export class S3ObjectWriterClosedError extends StreamlineError {}

type State = 'open' | 'closing' | 'closed' | 'aborted';

/** Streams bytes into one S3 object; call `write` sequentially, then `close` (or `abort`). */
export class S3ObjectWriter {
  private readonly partSize: number;
  private readonly concurrency: number;
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private size = 0;
  private state: State = 'open';
  private uploadId: Promise<string> | undefined;
  private readonly etags: string[] = [];
  /** Part uploads running; they never reject (a failure is recorded in `failure`). */
  private readonly uploading = new Set<Promise<void>>();
  /** First failure: the upload is aborted and every later call rethrows it unchanged (callers recognize S3 errors such as 412). */
  private failure: { readonly error: unknown } | undefined;
  private aborting: Promise<void> = Promise.resolve();
  /** Aborted on the first failure (or `abort()`): cancels the requests in flight, so aborting never waits for a hung one. */
  private readonly cancel = new AbortController();

  constructor(private readonly options: S3ObjectWriterOptions) {
    this.partSize = Math.max(MIN_PART_BYTES, options.partSizeBytes);
    this.concurrency = Math.max(1, options.partConcurrency);
  }

  private get location(): string {
    return `s3://${this.options.bucket}/${this.options.key}`;
  }

  /** Appends bytes (kept by reference until uploaded: do not modify them). Waits while `partConcurrency` parts are uploading. */
  async write(chunk: Uint8Array): Promise<void> {
    await this.assertOpen('write');
    if (chunk.byteLength === 0) return;
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.byteLength;
    this.size += chunk.byteLength;
    // Strictly more than a part: an object of exactly one part stays a single PutObject.
    while (this.bufferedBytes > this.partSize) {
      this.startPart(this.take(this.partSize));
      while (this.uploading.size >= this.concurrency) await Promise.race(this.uploading);
      await this.rethrowFailure();
    }
  }

  /** Uploads what is left and makes the object visible; resolves to its size in bytes. */
  async close(): Promise<number> {
    await this.assertOpen('close');
    this.state = 'closing';
    const { client, bucket, key, ifNoneMatch, retry } = this.options;
    const condition = ifNoneMatch ? { IfNoneMatch: '*' } : {};
    if (this.uploadId === undefined) {
      const body = this.take(this.bufferedBytes);
      try {
        await retry(`PutObject ${this.location}`, (abortSignal) => client.send(new (awsS3().PutObjectCommand)({ Bucket: bucket, Key: key, Body: body, ...condition }), { abortSignal }), this.cancel.signal);
      } catch (error) {
        this.fail(error);
        throw error;
      }
      this.state = 'closed';
      return this.size;
    }
    if (this.bufferedBytes > 0) this.startPart(this.take(this.bufferedBytes));
    while (this.uploading.size > 0) await Promise.race(this.uploading);
    await this.rethrowFailure();
    const uploadId = await this.uploadId;
    try {
      await retry(
        `CompleteMultipartUpload ${this.location}`,
        (abortSignal) =>
          client.send(
            new (awsS3().CompleteMultipartUploadCommand)({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              ...condition,
              MultipartUpload: { Parts: this.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
            }),
            { abortSignal },
          ),
        this.cancel.signal,
      );
    } catch (error) {
      this.fail(error);
      await this.aborting;
      throw error;
    }
    this.state = 'closed';
    return this.size;
  }

  /** Discards the object: nothing becomes visible. No-op once closed (the object is complete then) or already aborted. */
  async abort(): Promise<void> {
    if (this.state !== 'closed') this.fail(new S3ObjectWriterClosedError(`upload of ${this.location} was aborted`));
    await this.aborting;
  }

  private async assertOpen(call: string): Promise<void> {
    await this.rethrowFailure();
    if (this.state !== 'open') throw new S3ObjectWriterClosedError(`cannot ${call} ${this.location}: the writer is ${this.state}`);
  }

  /** After a failure: waits until the upload is aborted, then throws the failure. */
  private async rethrowFailure(): Promise<void> {
    if (this.failure === undefined) return;
    await this.aborting;
    throw this.failure.error;
  }

  /** The first `n` buffered bytes, as a view when one chunk holds them (no copy). */
  private take(n: number): Uint8Array {
    const first = this.buffered[0];
    let part: Uint8Array;
    if (first !== undefined && first.byteLength >= n) {
      part = first.subarray(0, n);
      if (first.byteLength === n) this.buffered.shift();
      else this.buffered[0] = first.subarray(n);
    } else {
      part = new Uint8Array(n);
      let offset = 0;
      while (offset < n) {
        const chunk = this.buffered[0]!;
        const used = Math.min(chunk.byteLength, n - offset);
        part.set(chunk.subarray(0, used), offset);
        offset += used;
        if (used === chunk.byteLength) this.buffered.shift();
        else this.buffered[0] = chunk.subarray(used);
      }
    }
    this.bufferedBytes -= n;
    return part;
  }

  private startPart(body: Uint8Array): void {
    const partNumber = this.etags.length + 1;
    this.etags.push('');
    const { client, bucket, key, retry } = this.options;
    const upload = (async () => {
      const uploadId = await (this.uploadId ??= this.createUpload());
      const result = await retry(
        `UploadPart ${partNumber} of ${this.location}`,
        (abortSignal) => client.send(new (awsS3().UploadPartCommand)({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }), { abortSignal }),
        this.cancel.signal,
      );
      if (result.ETag === undefined) throw new StreamlineError(`UploadPart ${partNumber} of ${this.location} returned no ETag`);
      this.etags[partNumber - 1] = result.ETag;
    })().catch((error: unknown) => this.fail(error));
    const tracked = upload.finally(() => this.uploading.delete(tracked));
    this.uploading.add(tracked);
  }

  private async createUpload(): Promise<string> {
    const { client, bucket, key, retry } = this.options;
    const created = await retry(`CreateMultipartUpload ${this.location}`, (abortSignal) => client.send(new (awsS3().CreateMultipartUploadCommand)({ Bucket: bucket, Key: key }), { abortSignal }), this.cancel.signal);
    if (created.UploadId === undefined) throw new StreamlineError(`CreateMultipartUpload of ${this.location} returned no UploadId`);
    return created.UploadId;
  }

  /** Records the first failure and starts aborting the multipart upload, once. */
  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.state = 'aborted';
    this.buffered = [];
    this.bufferedBytes = 0;
    this.cancel.abort(error);
    this.aborting = this.abortUpload();
  }

  /**
   * Best effort, one attempt bounded by the client's timeouts: an upload an abort misses is
   * invisible anyway, and a bucket lifecycle rule removes it.
   */
  private async abortUpload(): Promise<void> {
    // Parts still running (cancelled above, so they end promptly) would otherwise land after the abort.
    while (this.uploading.size > 0) await Promise.race(this.uploading);
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (uploadId === undefined) return;
    const { client, bucket, key } = this.options;
    await client.send(new (awsS3().AbortMultipartUploadCommand)({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
  }
}
