/**
 * Turns CHECKPOINT_URI into a store: `file:///abs/path` or a plain path → LocalCheckpointStore,
 * `s3://bucket/prefix` → S3CheckpointStore. Anything else is a ConfigError naming CHECKPOINT_URI.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckpointStore } from '../checkpoint-store.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../logger.js';
import { LocalCheckpointStore } from './local-checkpoint-store.js';
import { S3CheckpointStore, type S3CheckpointStoreOptions } from './s3-checkpoint-store.js';
import { awsClientOptions } from '../../remote/aws-client-options.js';
import { awsS3 } from '../../remote/aws-sdk.js';
import { REMOTE_CALL_SETTINGS, remoteCallSettings, type RemoteCallSettings } from '../../remote/remote-call-settings.js';

const SETTING = 'CHECKPOINT_URI';
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Options of checkpointStoreFromUri; an S3 client is built from the environment when absent. */
export interface CheckpointStoreFromUriOptions {
  readonly s3Client?: S3Client;
  /** Environment for region and endpoint (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Base for relative paths (default process.cwd()). */
  readonly cwd?: string;
  readonly logger?: Logger;
  readonly s3?: Partial<Omit<S3CheckpointStoreOptions, 'client' | 'bucket' | 'prefix'>>;
}

/** Where a CHECKPOINT_URI points, before any store is created. */
export type CheckpointLocation = { readonly kind: 'local'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string };

/** Parses and validates a checkpoint URI; throws ConfigError naming CHECKPOINT_URI. */
export function parseCheckpointUri(uri: string, cwd = process.cwd()): CheckpointLocation {
  const value = uri.trim();
  if (value === '') throw new ConfigError(SETTING, 'is empty; use a path, file:///path or s3://bucket/prefix');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || /^[a-zA-Z]:[\\/]/.test(value)) return { kind: 'local', path: resolve(cwd, value) };
  if (scheme === 'file') {
    try {
      return { kind: 'local', path: fileURLToPath(value) };
    } catch (err) {
      throw new ConfigError(SETTING, `'${value}' is not a usable file URI (${(err as Error).message}); use file:///absolute/path`);
    }
  }
  if (scheme === 's3') {
    const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(value);
    const bucket = match?.[1] ?? '';
    if (!BUCKET.test(bucket) || bucket.includes('..')) {
      throw new ConfigError(SETTING, `'${value}' does not name a valid S3 bucket ('${bucket}'); expected s3://bucket/prefix`);
    }
    const prefix = (match?.[2] ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix.split('/').some((segment) => segment === '.' || segment === '..') || /\/\//.test(prefix)) {
      throw new ConfigError(SETTING, `'${value}' has an invalid key prefix '${prefix}'`);
    }
    return { kind: 's3', bucket, prefix };
  }
  throw new ConfigError(SETTING, `unsupported scheme '${scheme}:' in '${value}'; use a path, file:///path or s3://bucket/prefix`);
}

/** Creates the checkpoint store a CHECKPOINT_URI names. */
export function checkpointStoreFromUri(uri: string, options: CheckpointStoreFromUriOptions = {}): CheckpointStore {
  const location = parseCheckpointUri(uri, options.cwd);
  if (location.kind === 'local') return new LocalCheckpointStore(location.path);
  const env = options.env ?? process.env;
  const calls = remoteCallSettings(env);
  const client = options.s3Client ?? s3ClientFromEnv(env, calls);
  const spec = options.s3Client === undefined ? { uri, env: pickStoreSettings(env) } : undefined;
  return new S3CheckpointStore({ retry: calls.retry, ...options.s3, client, bucket: location.bucket, prefix: location.prefix, logger: options.logger, ...(spec ? { spec } : {}) });
}

const REMOTE_SETTING_NAMES = new Set<string>(REMOTE_CALL_SETTINGS.map(([name]) => name));

/** The settings an S3 client is built from (region, endpoint, credentials, timeouts, retries), to open the store again in a worker. */
function pickStoreSettings(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const picked: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (name.startsWith('AWS_') || REMOTE_SETTING_NAMES.has(name)) picked[name] = value;
  return picked;
}

function s3ClientFromEnv(env: NodeJS.ProcessEnv, calls: RemoteCallSettings): S3Client {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '') throw new ConfigError('AWS_REGION', 'is required for an s3:// CHECKPOINT_URI');
  // Custom endpoints (moto, MinIO) generally need path-style addressing.
  const customEndpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new (awsS3().S3Client)({ ...awsClientOptions(calls.timeouts), region, ...(customEndpoint ? { endpoint: customEndpoint, forcePathStyle: true } : {}) });
}
