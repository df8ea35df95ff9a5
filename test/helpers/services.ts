/**
 * Real services for integration tests: reuses the Kafka broker and moto server that
 * `npm run services:up` started, or starts them through `scripts/services.sh`, and runs the
 * independent Iceberg reader (`scripts/iceberg-read.py`, pyiceberg). Everything on 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { StreamlineError } from '../../src/errors.js';

const run = promisify(execFile);

/** Where the tests find the services; also exported into process.env for the AWS SDK. */
export interface ServiceEndpoints {
  kafkaBrokers: string[];
  awsEndpoint: string;
  region: string;
}

/** A service could not be reached or started; the message names the service and its log file. */
export class ServiceUnavailableError extends StreamlineError {
  constructor(readonly service: string, message: string, options: { cause?: unknown } = {}) {
    super(`${service}: ${message}`, options);
  }
}

/** The Iceberg reader script failed (missing metadata file, unreadable table, ...). */
export class IcebergReadError extends StreamlineError {
  constructor(readonly metadataLocation: string, readonly stderr: string, options: { cause?: unknown } = {}) {
    super(`iceberg-read failed for ${metadataLocation}: ${stderr.trim() || 'no error output'}`, options);
  }
}

/** A value as the reader prints it: decimals as strings, timestamps/dates ISO, binary base64, int64 beyond 2^53 as strings. */
export type IcebergJsonValue =
  | string
  | number
  | boolean
  | null
  | IcebergJsonValue[]
  | { [key: string]: IcebergJsonValue };

/** One schema field; nested struct/list/map types list their children in `fields`. */
export interface IcebergSchemaField {
  id: number;
  name: string;
  /** pyiceberg's rendering of the type: `long`, `string`, `decimal(10, 2)`, `timestamptz`, `struct<...>`. */
  type: string;
  required: boolean;
  doc?: string;
  fields?: IcebergSchemaField[];
}

/** One snapshot; ids are strings because int64 snapshot ids do not fit a JS number. */
export interface IcebergSnapshotInfo {
  snapshotId: string;
  parentSnapshotId: string | null;
  sequenceNumber: number | null;
  timestampMs: number;
  operation: string | null;
  /** The summary map as stored (all values strings), including `operation`. */
  summary: Record<string, string>;
  manifestList: string;
  schemaId: number | null;
}

/** One file of the current snapshot. */
export interface IcebergDataFileInfo {
  path: string;
  /** `data`, `position-deletes` or `equality-deletes`. */
  content: string;
  format: string;
  specId: number;
  /** Partition values by partition field name (transform results, e.g. days since epoch). */
  partition: Record<string, IcebergJsonValue>;
  recordCount: number;
  fileSizeInBytes: number;
  /** Names of the columns that carry a lower / upper bound in the manifest entry. */
  columnsWithLowerBounds: string[];
  columnsWithUpperBounds: string[];
  columnsWithNullCounts: string[];
}

/** What `scripts/iceberg-read.py` prints for a table. */
export interface IcebergReadResult {
  metadataLocation: string;
  formatVersion: number;
  tableUuid: string;
  location: string;
  currentSnapshotId: string | null;
  lastSequenceNumber: number;
  properties: Record<string, string>;
  schema: { schemaId: number; identifierFieldIds: number[]; fields: IcebergSchemaField[] };
  partitionSpec: {
    specId: number;
    fields: { sourceId: number; fieldId: number; name: string; transform: string }[];
  };
  sortOrder: { orderId: number; fields: { sourceId: number; transform: string; direction: string; nullOrder: string }[] };
  /** Oldest first. */
  snapshots: IcebergSnapshotInfo[];
  /** Rows in the current snapshot, after deletes (0 for a table without snapshots). */
  rowCount: number;
  /** With `rows`: every row of the current snapshot, in file order. */
  rows?: Record<string, IcebergJsonValue>[];
  /** With `column`: that column's values, sorted (nulls first). */
  column?: { name: string; values: IcebergJsonValue[] };
  /** With `files`: the data and delete files of the current snapshot. */
  files?: IcebergDataFileInfo[];
  /** With `snapshotRows`: rows of every snapshot in the metadata, by snapshot id (each scanned whole). */
  snapshotRows?: Record<string, number>;
}

const REGION = 'us-east-1';
const SERVICE_START_TIMEOUT_MS = 20 * 60_000; // a cold start downloads Kafka and a virtualenv

/** The repository root, found from this file compiled into any build folder or not. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'scripts', 'services.sh'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new ServiceUnavailableError('services', 'cannot find scripts/services.sh above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Where the services' downloads live (Kafka, the Python virtualenv with pyiceberg). */
export function servicesDir(): string {
  return process.env.STREAMLINE_SERVICES_DIR ?? join(repoRoot(), '.services');
}

function kafkaPort(): number {
  return Number(process.env.STREAMLINE_KAFKA_PORT ?? 9092);
}

function motoEndpoint(): string {
  return `http://127.0.0.1:${Number(process.env.STREAMLINE_MOTO_PORT ?? 5055)}`;
}

async function kafkaAnswers(broker: string): Promise<boolean> {
  const kafka = new kafkajs.Kafka({
    clientId: 'streamline-test-health',
    brokers: [broker],
    connectionTimeout: 1500,
    requestTimeout: 3000,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * moto answers its dashboard page (small and static: /moto-api/data.json would dump every
 * resource of every test, megabytes by the end of a run). A busy moto (every test file shares it)
 * may take seconds: three tries of 10 s before it counts as not answering.
 */
async function motoAnswers(endpoint: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      if (response.ok) return true;
    } catch {
      // not answering (yet): try again
    }
  }
  return false;
}

async function servicesScript(command: 'up' | 'install', service: 'kafka' | 'moto'): Promise<void> {
  try {
    await run('bash', [join(repoRoot(), 'scripts', 'services.sh'), command, service], {
      cwd: repoRoot(),
      timeout: SERVICE_START_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const stdout = (error as { stdout?: string }).stdout ?? '';
    throw new ServiceUnavailableError(
      service,
      `'scripts/services.sh ${command} ${service}' failed (logs in ${join(servicesDir(), 'logs')}):\n${stdout}${stderr}`,
      { cause: error },
    );
  }
}

// One start attempt per service and test process, shared by every test file's calls.
const starting = new Map<'kafka' | 'moto', Promise<void>>();

function ensureOne(service: 'kafka' | 'moto', answers: () => Promise<boolean>): Promise<void> {
  let pending = starting.get(service);
  if (pending === undefined) {
    pending = (async () => {
      if (await answers()) return;
      await servicesScript('up', service);
      if (!(await answers())) {
        throw new ServiceUnavailableError(service, `started but does not answer; see ${join(servicesDir(), 'logs', `${service}.log`)}`);
      }
    })();
    // A failed attempt may be retried by a later call (e.g. after the port was freed).
    pending.catch(() => starting.delete(service));
    starting.set(service, pending);
  }
  return pending;
}

function exportAwsEnvironment(endpoint: string): void {
  // Always overwrite: tests must never reach AWS, whatever the shell exported.
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_REGION = REGION;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

/**
 * Makes sure the requested services answer on 127.0.0.1 (reusing running ones, else running
 * `scripts/services.sh up <name>`), points the AWS SDK at moto through process.env, and returns
 * the endpoints.
 */
export async function ensureServices(which: { kafka?: boolean; moto?: boolean }): Promise<ServiceEndpoints> {
  const endpoints: ServiceEndpoints = {
    kafkaBrokers: [`127.0.0.1:${kafkaPort()}`],
    awsEndpoint: motoEndpoint(),
    region: REGION,
  };
  exportAwsEnvironment(endpoints.awsEndpoint);
  const waits: Promise<void>[] = [];
  if (which.kafka) waits.push(ensureOne('kafka', () => kafkaAnswers(endpoints.kafkaBrokers[0]!)));
  if (which.moto) waits.push(ensureOne('moto', () => motoAnswers(endpoints.awsEndpoint)));
  await Promise.all(waits);
  return endpoints;
}

/**
 * Reads an Iceberg table with pyiceberg (independent of our writer) from a metadata file:
 * a local path, `file://` or `s3://` (through moto). Options add rows, one column's sorted
 * values or the current snapshot's files to the result.
 */
export async function readIcebergTable(
  metadataLocation: string,
  options: { rows?: boolean; column?: string; files?: boolean; snapshotRows?: boolean } = {},
): Promise<IcebergReadResult> {
  if (metadataLocation.startsWith('s3://') || metadataLocation.startsWith('s3a://')) {
    await ensureServices({ moto: true });
  }
  const python = join(servicesDir(), 'venv', 'bin', 'python');
  if (!existsSync(python)) await servicesScript('install', 'moto');
  const args = [join(repoRoot(), 'scripts', 'iceberg-read.py'), metadataLocation];
  if (options.rows) args.push('--rows');
  if (options.column !== undefined) args.push('--column', options.column);
  if (options.files) args.push('--files');
  if (options.snapshotRows) args.push('--snapshot-rows');
  const env = { ...process.env };
  if (env.AWS_ENDPOINT_URL === undefined) env.AWS_ENDPOINT_URL = motoEndpoint();
  let stdout: string;
  try {
    ({ stdout } = await run(python, args, { env, maxBuffer: 512 * 1024 * 1024, timeout: 10 * 60_000 }));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new IcebergReadError(metadataLocation, stderr, { cause: error });
  }
  try {
    return JSON.parse(stdout) as IcebergReadResult;
  } catch (error) {
    throw new IcebergReadError(metadataLocation, `output is not JSON: ${stdout.slice(0, 500)}`, { cause: error });
  }
}

/** A name unique to this test run, valid as a Kafka topic, S3 bucket, table bucket, namespace or table (lowercase, digits, `_`/`-` kept from the prefix). */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  return `${prefix.toLowerCase()}${suffix}`;
}
