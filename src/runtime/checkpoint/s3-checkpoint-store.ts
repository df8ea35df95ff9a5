/**
 * Checkpoint store in a regular S3 bucket: `s3://bucket/prefix` → `<prefix>/<job>/chk-<id>/…`.
 * Objects are written with `If-None-Match: *` so a zombie and its successor cannot overwrite each
 * other's objects; a retried write whose first attempt landed is recognised by its content.
 * Large state goes up as a multipart upload; every request is retried under the one retry
 * policy (src/remote), which names S3 and the call when it gives up.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { CheckpointMetadata, CheckpointScopeActivity, CheckpointStore, CheckpointStoreSpec, CompletedCheckpoint, SharedStateFile, StateHandle } from '../checkpoint-store.js';
import { CheckpointError, CorruptCheckpointError } from '../../errors.js';
import type { Logger } from '../logger.js';
import { S3ObjectWriter } from '../../storage/s3-object-writer.js';
import {
  assertCheckpointId,
  assertJobName,
  assertStateName,
  checkpointDirName,
  METADATA_NAME,
  parseCheckpointDirName,
} from './checkpoint-layout.js';
import { assertStateObjectsStored, inspectCheckpoint, scanCheckpoints } from './checkpoint-inspection.js';
import { encodeMetadata, validateMetadata } from './metadata-codec.js';
import { planPrune, type CheckpointScan } from './retention-plan.js';
import { callWithRetry } from '../../remote/call-with-retry.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../remote/retry-policy.js';
import { httpStatusOf } from '../../remote/transient-failure.js';
import { sha256Hex, verifyState } from './state-checksum.js';
import { assertSharedName, ChunkDigest, SHARED_DIR, unreferencedSharedFiles, verifiedChunks } from './shared-state-files.js';
import { awsS3, isS3NotFound } from '../../remote/aws-sdk.js';

/**
 * `auto`: send `If-None-Match: *`, fall back to check-then-put if the endpoint rejects the header;
 * `required`: fail instead of falling back; `off`: check-then-put (not race-free).
 */
export type ConditionalWriteMode = 'auto' | 'required' | 'off';

/** What a probe found out about the endpoint's support for `If-None-Match: *`. */
export type ConditionalWriteSupport = 'enforced' | 'ignored' | 'rejected';

/** Options of S3CheckpointStore. */
export interface S3CheckpointStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix without leading/trailing slashes ('' for the bucket root). */
  readonly prefix?: string;
  /** Objects at least this large are uploaded in parts. Default 8 MiB. */
  readonly multipartThresholdBytes?: number;
  /** Part size (S3 minimum 5 MiB except the last part). Default 8 MiB. */
  readonly partSizeBytes?: number;
  /** Parts uploaded at once. Default 4. */
  readonly partConcurrency?: number;
  readonly conditionalWrites?: ConditionalWriteMode;
  /** Retry policy of every request (default: src/remote's); the client should carry the process's timeouts. */
  readonly retry?: RetryPolicy;
  readonly logger?: Logger;
  /** How to open this store again in a worker thread (checkpointStoreFromUri sets it). */
  readonly spec?: CheckpointStoreSpec;
}

const MiB = 1024 * 1024;

/** CheckpointStore on S3 (or an S3-compatible endpoint such as moto). */
export class S3CheckpointStore implements CheckpointStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly spec: CheckpointStoreSpec | undefined;
  private readonly client: S3Client;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly logger: Logger | undefined;
  private conditionalMode: ConditionalWriteMode;

  constructor(options: S3CheckpointStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.uri = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.multipartThreshold = options.multipartThresholdBytes ?? 8 * MiB;
    this.partSize = Math.max(options.partSizeBytes ?? 8 * MiB, 5 * MiB);
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 4);
    this.conditionalMode = options.conditionalWrites ?? 'auto';
    this.retryPolicy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.logger = options.logger;
    this.spec = options.spec;
  }

  async writeSharedState(scope: string, name: string, chunks: AsyncIterable<Uint8Array>): Promise<SharedStateFile> {
    assertSharedName(scope, name);
    const digest = new ChunkDigest();
    const counted = (async function* () {
      for await (const chunk of chunks) {
        digest.update(chunk);
        yield chunk;
      }
    })();
    await this.uploadStream(this.sharedKey(scope, name), counted);
    return { scope, name, bytes: digest.bytes, sha256: digest.digest() };
  }

  readSharedState(file: SharedStateFile): AsyncIterable<Uint8Array> {
    assertSharedName(file.scope, file.name);
    const key = this.sharedKey(file.scope, file.name);
    const location = `s3://${this.bucket}/${key}`;
    const body = async function* (store: S3CheckpointStore): AsyncGenerator<Uint8Array> {
      let result;
      try {
        result = await store.retry(`GetObject ${location}`, (abortSignal) => store.client.send(new (awsS3().GetObjectCommand)({ Bucket: store.bucket, Key: key }), { abortSignal }));
      } catch (err) {
        if (isS3NotFound(err)) throw new CorruptCheckpointError(`shared state file ${location} is missing`);
        throw err;
      }
      if (result.Body === undefined) throw new CorruptCheckpointError(`GetObject ${location} returned no body`);
      for await (const chunk of result.Body as Readable) yield chunk as Uint8Array;
    };
    return verifiedChunks(file, location, body(this));
  }

  /** True while writes carry `If-None-Match: *` (false after an `auto` fallback or with `off`). */
  get conditionalWritesActive(): boolean {
    return this.conditionalMode !== 'off';
  }

  async writeState(jobName: string, checkpointId: number, name: string, bytes: Uint8Array): Promise<StateHandle> {
    assertJobName(jobName);
    assertCheckpointId(checkpointId);
    assertStateName(checkpointId, name);
    await this.putOnce(this.key(jobName, checkpointId, name), bytes, checkpointId);
    return { name, bytes: bytes.byteLength, sha256: sha256Hex(bytes) };
  }

  async commitMetadata(metadata: CheckpointMetadata): Promise<CompletedCheckpoint> {
    assertJobName(metadata.jobName);
    assertCheckpointId(metadata.checkpointId);
    validateMetadata(metadata);
    // One listing proves every state object is there before the metadata can point at it.
    const objects = (await this.listObjects(metadata.jobName, metadata.checkpointId)).get(metadata.checkpointId) ?? new Map<string, number>();
    await assertStateObjectsStored(metadata, (name) => objects.get(name));
    const key = this.key(metadata.jobName, metadata.checkpointId, METADATA_NAME);
    await this.putOnce(key, encodeMetadata(metadata), metadata.checkpointId);
    return { metadata, location: this.location(metadata.jobName, metadata.checkpointId) };
  }

  async readState(jobName: string, checkpointId: number, handle: StateHandle): Promise<Uint8Array> {
    assertJobName(jobName);
    assertStateName(checkpointId, handle.name);
    const key = this.key(jobName, checkpointId, handle.name);
    const bytes = await this.getObject(key);
    if (bytes === undefined) throw new CorruptCheckpointError(`checkpoint ${checkpointId} of job '${jobName}': state object s3://${this.bucket}/${key} is missing`);
    verifyState(jobName, checkpointId, handle, bytes, `s3://${this.bucket}/${key}`);
    return bytes;
  }

  async listCompleted(jobName: string, onSkip?: (checkpointId: number, reason: string) => void): Promise<CompletedCheckpoint[]> {
    const scan = await this.scan(jobName);
    for (const { checkpointId, reason } of scan.skipped) onSkip?.(checkpointId, reason);
    return scan.completed;
  }

  async load(jobName: string, checkpointId: number): Promise<CompletedCheckpoint> {
    assertJobName(jobName);
    assertCheckpointId(checkpointId);
    const objects = (await this.listObjects(jobName, checkpointId)).get(checkpointId) ?? new Map<string, number>();
    return this.inspect(jobName, checkpointId, objects);
  }

  async discard(jobName: string, checkpointId: number): Promise<void> {
    assertJobName(jobName);
    assertCheckpointId(checkpointId);
    const objects = (await this.listObjects(jobName, checkpointId)).get(checkpointId);
    if (objects === undefined) return;
    const keys = [...objects.keys()].map((name) => this.key(jobName, checkpointId, name));
    // `_metadata` first: a half-discarded checkpoint must read as incomplete, never as complete-but-broken.
    const metadataKey = this.key(jobName, checkpointId, METADATA_NAME);
    if (keys.includes(metadataKey)) {
      await this.retry(`DeleteObject s3://${this.bucket}/${metadataKey}`, (abortSignal) => this.client.send(new (awsS3().DeleteObjectCommand)({ Bucket: this.bucket, Key: metadataKey }), { abortSignal }));
    }
    const rest = keys.filter((key) => key !== metadataKey);
    for (let i = 0; i < rest.length; i += 1000) {
      const batch = rest.slice(i, i + 1000);
      const result = await this.retry(`DeleteObjects in ${this.location(jobName, checkpointId)}`, (abortSignal) =>
        this.client.send(new (awsS3().DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }),
      );
      const failed = result.Errors ?? [];
      if (failed.length > 0) {
        throw new CheckpointError(checkpointId, `could not delete ${failed.length} object(s), e.g. ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`);
      }
    }
  }

  async prune(jobName: string, retain: number, keep?: ReadonlySet<number>, keepShared?: ReadonlySet<string>): Promise<void> {
    const scan = await this.scan(jobName);
    const plan = planPrune(scan, retain, keep);
    for (const checkpointId of plan) await this.discard(jobName, checkpointId);
    const remaining = scan.completed.filter((c) => !plan.includes(c.metadata.checkpointId));
    const names = await this.listShared(jobName);
    const doomed = unreferencedSharedFiles(jobName, names, remaining, keepShared).map((name) => this.sharedKey(jobName, name));
    for (let i = 0; i < doomed.length; i += 1000) {
      const batch = doomed.slice(i, i + 1000);
      await this.retry(`DeleteObjects of unreferenced shared state of ${jobName}`, (abortSignal) =>
        this.client.send(new (awsS3().DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }),
      );
    }
  }

  async listScopes(namePrefix: string): Promise<CheckpointScopeActivity[]> {
    const base = this.prefix ? `${this.prefix}/` : '';
    const newest = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await this.retry(`ListObjectsV2 s3://${this.bucket}/${base}${namePrefix}`, (abortSignal) => this.client.send(new (awsS3().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: `${base}${namePrefix}`, ContinuationToken: token }), { abortSignal }));
      for (const object of page.Contents ?? []) {
        const [scope, ...rest] = (object.Key ?? '').slice(base.length).split('/');
        if (scope === undefined || rest.length === 0) continue;
        newest.set(scope, Math.max(newest.get(scope) ?? 0, object.LastModified?.getTime() ?? 0));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return [...newest].map(([scope, lastModifiedMs]) => ({ scope, lastModifiedMs })).sort((a, b) => (a.scope < b.scope ? -1 : 1));
  }

  async discardScope(scope: string): Promise<void> {
    assertJobName(scope);
    const prefix = this.jobPrefix(scope);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.retry(`ListObjectsV2 s3://${this.bucket}/${prefix}`, (abortSignal) => this.client.send(new (awsS3().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // Every `_metadata` first: a half-discarded scope must hold no checkpoint that reads as complete but broken.
    const ordered = [...keys.filter((k) => k.endsWith(`/${METADATA_NAME}`)), ...keys.filter((k) => !k.endsWith(`/${METADATA_NAME}`))];
    for (let i = 0; i < ordered.length; i += 1000) {
      const batch = ordered.slice(i, i + 1000);
      const result = await this.retry(`DeleteObjects of scope ${scope}`, (abortSignal) => this.client.send(new (awsS3().DeleteObjectsCommand)({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }));
      const failed = result.Errors ?? [];
      if (failed.length > 0) throw new CheckpointError(0, `could not delete ${failed.length} object(s) of scope '${scope}', e.g. ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`);
    }
  }

  /** Highest checkpoint id with any object (complete or not); new ids must be above it. */
  async highestCheckpointId(jobName: string): Promise<number | undefined> {
    assertJobName(jobName);
    const ids = [...(await this.listObjects(jobName)).keys()];
    return ids.length === 0 ? undefined : Math.max(...ids);
  }

  /**
   * Finds out whether the endpoint enforces `If-None-Match: *` by writing a probe object twice
   * under the prefix (then deleting it). Real S3 enforces it; older emulators may ignore it.
   */
  async probeConditionalWrites(): Promise<ConditionalWriteSupport> {
    const key = `${this.prefix ? `${this.prefix}/` : ''}.conditional-write-probe-${randomUUID()}`;
    const put = (): Promise<unknown> => this.client.send(new (awsS3().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: new Uint8Array([1]), IfNoneMatch: '*' }));
    try {
      await put();
    } catch (err) {
      if (isHeaderUnsupported(err)) return 'rejected';
      throw err;
    }
    try {
      await put();
      return 'ignored';
    } catch (err) {
      if (isPreconditionFailed(err)) return 'enforced';
      throw err;
    } finally {
      await this.client.send(new (awsS3().DeleteObjectCommand)({ Bucket: this.bucket, Key: key })).catch(() => undefined);
    }
  }

  private jobPrefix(jobName: string): string {
    return `${this.prefix ? `${this.prefix}/` : ''}${jobName}/`;
  }

  private key(jobName: string, checkpointId: number, name: string): string {
    return `${this.jobPrefix(jobName)}${checkpointDirName(checkpointId)}/${name}`;
  }

  private sharedKey(scope: string, name: string): string {
    return `${this.jobPrefix(scope)}${SHARED_DIR}/${name}`;
  }

  private async listShared(scope: string): Promise<string[]> {
    const prefix = `${this.jobPrefix(scope)}${SHARED_DIR}/`;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.retry(`ListObjectsV2 s3://${this.bucket}/${prefix}`, (abortSignal) =>
        this.client.send(new (awsS3().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal }),
      );
      for (const object of page.Contents ?? []) {
        const name = (object.Key ?? '').slice(prefix.length);
        if (name !== '' && !name.includes('/')) names.push(name);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return names;
  }

  /** Uploads chunks as they come (the shared streaming uploader: parts go up while later chunks are still produced). */
  private async uploadStream(key: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const upload = this.objectWriter(key, false);
    try {
      for await (const chunk of chunks) await upload.write(chunk);
      await upload.close();
    } catch (error) {
      await upload.abort().catch(() => undefined);
      throw error;
    }
  }

  private location(jobName: string, checkpointId: number): string {
    return `s3://${this.bucket}/${this.jobPrefix(jobName)}${checkpointDirName(checkpointId)}`;
  }

  /** One request under the retry policy; `signal` (an upload's) cancels it. */
  private retry<T>(action: string, operation: (abortSignal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return callWithRetry({ dependency: 'S3', action }, operation, {
      policy: this.retryPolicy,
      ...(signal ? { signal } : {}),
      onRetry: (err, attempt, delayMs) => this.logger?.warn({ err: (err as Error).message, attempt, delayMs, store: this.uri }, 'S3 request failed; retrying'),
    });
  }

  // Writes an object that must not exist yet. Identical existing content counts as success
  // (the first attempt of a retried request landed); different content is a conflict.
  private async putOnce(key: string, bytes: Uint8Array, checkpointId: number): Promise<void> {
    if (this.conditionalMode === 'off') {
      if (await this.sameOrConflict(key, bytes, checkpointId)) return;
      await this.upload(key, bytes, false);
      return;
    }
    try {
      await this.upload(key, bytes, true);
    } catch (err) {
      if (isPreconditionFailed(err)) {
        if (await this.sameOrConflict(key, bytes, checkpointId)) return;
        throw new CheckpointError(checkpointId, `s3://${this.bucket}/${key} vanished after a conditional-write conflict`);
      }
      if (this.conditionalMode === 'auto' && isHeaderUnsupported(err)) {
        this.conditionalMode = 'off';
        this.logger?.warn({ err, store: this.uri }, 'endpoint rejects If-None-Match on writes; falling back to check-then-put (not race-free)');
        await this.putOnce(key, bytes, checkpointId);
        return;
      }
      throw new CheckpointError(checkpointId, `could not write s3://${this.bucket}/${key}: ${(err as Error).message}`, { cause: err });
    }
  }

  // True when the object exists with the same bytes; throws when it exists with other bytes.
  private async sameOrConflict(key: string, bytes: Uint8Array, checkpointId: number): Promise<boolean> {
    const existing = await this.getObject(key);
    if (existing === undefined) return false;
    if (sha256Hex(existing) === sha256Hex(bytes)) return true;
    throw new CheckpointError(checkpointId, `s3://${this.bucket}/${key} already exists with different content (another writer used this checkpoint id)`);
  }

  private async upload(key: string, bytes: Uint8Array, conditional: boolean): Promise<void> {
    const ifNoneMatch = conditional ? '*' : undefined;
    if (bytes.byteLength < this.multipartThreshold) {
      const checksum = Buffer.from(sha256Hex(bytes), 'hex').toString('base64');
      await this.retry(`PutObject s3://${this.bucket}/${key}`, (abortSignal) =>
        this.client.send(new (awsS3().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: bytes, IfNoneMatch: ifNoneMatch, ChecksumSHA256: checksum }), { abortSignal }),
      );
      return;
    }
    await this.uploadMultipart(key, bytes, ifNoneMatch);
  }

  private async uploadMultipart(key: string, bytes: Uint8Array, ifNoneMatch: string | undefined): Promise<void> {
    const upload = this.objectWriter(key, ifNoneMatch !== undefined);
    await upload.write(bytes);
    await upload.close();
  }

  private objectWriter(key: string, ifNoneMatch: boolean): S3ObjectWriter {
    return new S3ObjectWriter({
      client: this.client,
      bucket: this.bucket,
      key,
      partSizeBytes: this.partSize,
      partConcurrency: this.partConcurrency,
      ifNoneMatch,
      retry: (action, request, signal) => this.retry(action, request, signal),
    });
  }

  private async getObject(key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.retry(`GetObject s3://${this.bucket}/${key}`, async (abortSignal) => {
        const result = await this.client.send(new (awsS3().GetObjectCommand)({ Bucket: this.bucket, Key: key }), { abortSignal });
        if (result.Body === undefined) throw new Error(`GetObject ${key} returned no body`);
        return result.Body.transformToByteArray();
      });
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw err;
    }
  }

  // checkpoint id → (object name → size), for one checkpoint or the whole job.
  private async listObjects(jobName: string, checkpointId?: number): Promise<Map<number, Map<string, number>>> {
    const base = this.jobPrefix(jobName);
    const prefix = checkpointId === undefined ? base : `${base}${checkpointDirName(checkpointId)}/`;
    const byId = new Map<number, Map<string, number>>();
    let token: string | undefined;
    do {
      const page = await this.retry(`ListObjectsV2 s3://${this.bucket}/${prefix}`, (abortSignal) =>
        this.client.send(new (awsS3().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal }),
      );
      for (const object of page.Contents ?? []) {
        const [dir, name, ...deeper] = (object.Key ?? '').slice(base.length).split('/');
        const id = dir === undefined ? undefined : parseCheckpointDirName(dir);
        if (id === undefined || name === undefined || name === '' || deeper.length > 0) continue;
        let objects = byId.get(id);
        if (objects === undefined) byId.set(id, (objects = new Map()));
        objects.set(name, object.Size ?? 0);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return byId;
  }

  private async scan(jobName: string): Promise<CheckpointScan> {
    assertJobName(jobName);
    const byId = await this.listObjects(jobName);
    return scanCheckpoints([...byId.keys()], (checkpointId) => this.inspect(jobName, checkpointId, byId.get(checkpointId)!));
  }

  // Sizes come from a listing already made, so inspecting costs one GET (of `_metadata`).
  private inspect(jobName: string, checkpointId: number, objects: Map<string, number>): Promise<CompletedCheckpoint> {
    return inspectCheckpoint({
      jobName,
      checkpointId,
      location: this.location(jobName, checkpointId),
      readMetadata: async () => (objects.has(METADATA_NAME) ? this.getObject(this.key(jobName, checkpointId, METADATA_NAME)) : undefined),
      sizeOf: (name) => objects.get(name),
    });
  }
}

function isPreconditionFailed(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'PreconditionFailed' || httpStatusOf(err) === 412;
}

// An endpoint that does not know the header answers 501 NotImplemented (or 400 naming the header).
function isHeaderUnsupported(err: unknown): boolean {
  const name = (err as Error | undefined)?.name ?? '';
  const message = (err as Error | undefined)?.message ?? '';
  return name === 'NotImplemented' || httpStatusOf(err) === 501 || (httpStatusOf(err) === 400 && /if-none-match/i.test(message));
}
