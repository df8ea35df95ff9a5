/**
 * Runs a job the way users do — `node dist/produce.js` into the real broker, `node dist/run.js
 * jobs/<job>` as a child process against moto S3 Tables — and reads what it wrote: the table
 * through pyiceberg, the dead-letter topic through a plain consumer.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTableBucketCommand, GetTableCommand, S3TablesClient } from '@aws-sdk/client-s3tables';
import kafkajs from 'kafkajs';
import type { KafkaClientKind } from '../../../../src/operators/kafka/kafka-config.js';
import { mulberry32 } from '../../../../src/runtime/random.js';
import { readIcebergTable, uniqueName, type IcebergReadResult, type ServiceEndpoints } from '../../../helpers/services.js';

const run = promisify(execFile);

/** The repository root (where dist/run.js lives), from this file compiled into any build folder. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root');
    dir = parent;
  }
  return dir;
}

export const RUN_JS = join(repoRoot(), 'dist', 'run.js');
export const PRODUCE_JS = join(repoRoot(), 'dist', 'produce.js');

/** What `produce.js` prints. */
export interface ProduceSummary {
  produced: number;
  bad: number;
  badIds?: number[];
  topic: string;
}

/** The job's generator replayed as produce.js runs it: one seeded stream over all indices. */
export function producedRecords(generate: (index: number, random: () => number) => unknown, count: number, seed: number): unknown[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, index) => generate(index, random));
}

export async function produce(endpoints: ServiceEndpoints, job: string, options: { count: number; badFraction: number; seed: number; topic: string; partitions: number; client?: KafkaClientKind }): Promise<ProduceSummary> {
  // Keyed by generator index, so a dead letter's key names the malformed record it came from.
  const args = [PRODUCE_JS, job, '--count', String(options.count), '--bad-fraction', String(options.badFraction), '--seed', String(options.seed), '--topic', options.topic, '--partitions', String(options.partitions), '--key-by', 'index'];
  const { stdout } = await run(process.execPath, args, { env: { ...process.env, KAFKA_BROKERS: endpoints.kafkaBrokers.join(','), KAFKA_CLIENT: options.client ?? 'kafkajs' }, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as ProduceSummary;
}

/** A fresh table bucket (S3 Tables) and checkpoint bucket (S3) in moto. */
export async function createBuckets(): Promise<{ tableBucketArn: string; checkpointUri: string }> {
  const tables = new S3TablesClient({});
  const created = await tables.send(new CreateTableBucketCommand({ name: uniqueName('jobs-') }));
  const bucket = uniqueName('jobs-ckpt-');
  await new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));
  return { tableBucketArn: created.arn!, checkpointUri: `s3://${bucket}/checkpoints` };
}

/** A job started through the CLI; its output goes to `logFile`. */
export interface RunningJob {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** Last lines of the job's output, for assertion messages. */
  logTail(lines?: number): string;
}

/** Starts `node dist/run.js <args>` with exactly `env` (plus PATH), logging into a temp folder. */
export function startJob(args: readonly string[], env: Record<string, string>): RunningJob {
  const logFile = join(mkdtempSync(join(tmpdir(), 'job-log-')), 'job.log');
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [RUN_JS, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      // stdout/stderr may still hold buffered output: end the log once both are drained.
      let open = 2;
      const done = () => (--open === 0 ? log.end(() => resolve(code ?? signal ?? 'unknown')) : undefined);
      child.stdout!.once('close', done);
      child.stderr!.once('close', done);
      if (child.stdout!.closed) done();
      if (child.stderr!.closed) done();
    });
  });
  return {
    child,
    logFile,
    exited,
    logTail: (lines = 30) => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : ''),
  };
}

/**
 * Environment of a job run against the broker and moto; nothing else leaks in from the test
 * process. `produce` keys the topic by producer index (so that dead letters can be told apart),
 * not by the jobs' order id: their keyed steps exchange records by key (KEYED_EXCHANGE=always).
 */
export function productionEnv(endpoints: ServiceEndpoints, settings: { topic: string; tableBucketArn: string; checkpointUri: string; workDir: string; client?: KafkaClientKind }): Record<string, string> {
  return {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_CLIENT: settings.client ?? 'kafkajs',
    KAFKA_TOPIC: settings.topic,
    KAFKA_GROUP_ID: uniqueName('jobs-group-'),
    TABLE_BUCKET_ARN: settings.tableBucketArn,
    CHECKPOINT_URI: settings.checkpointUri,
    AWS_ENDPOINT_URL: endpoints.awsEndpoint,
    AWS_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    METRICS_PORT: '0',
    STREAMLINE_WORK_DIR: settings.workDir,
    CHECKPOINT_INTERVAL_MS: '1000',
    LOG_LEVEL: 'info',
    KEYED_EXCHANGE: 'always',
  };
}

/** The summary of the current snapshot of S3 Tables table `sink.<name>` (empty before the first commit), or undefined before the table exists. */
export async function currentSnapshotSummary(tableBucketArn: string, name: string): Promise<{ summary: Record<string, string>; metadataLocation: string } | undefined> {
  let metadataLocation: string | undefined;
  try {
    metadataLocation = (await new S3TablesClient({}).send(new GetTableCommand({ tableBucketARN: tableBucketArn, namespace: 'sink', name }))).metadataLocation;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFoundException') return undefined;
    throw error;
  }
  if (metadataLocation === undefined) return undefined;
  const url = new URL(metadataLocation);
  const object = await new S3Client({ forcePathStyle: true }).send(new GetObjectCommand({ Bucket: url.hostname, Key: url.pathname.slice(1) }));
  const metadata = JSON.parse(await object.Body!.transformToString()) as { 'current-snapshot-id'?: number | null; snapshots?: { 'snapshot-id': number; summary: Record<string, string> }[] };
  const current = metadata.snapshots?.find((s) => s['snapshot-id'] === metadata['current-snapshot-id']);
  return { summary: current?.summary ?? {}, metadataLocation };
}

/** Rows in the table's current snapshot per its metadata (`total-records`), or undefined before the table exists. */
async function committedRows(tableBucketArn: string, name: string): Promise<{ rows: number; metadataLocation: string } | undefined> {
  const current = await currentSnapshotSummary(tableBucketArn, name);
  return current === undefined ? undefined : { rows: Number(current.summary['total-records'] ?? 0), metadataLocation: current.metadataLocation };
}

/** Polls the table until it holds `expected` rows (or more) or the job exits or time runs out. */
export async function waitForRows(job: RunningJob, tableBucketArn: string, name: string, expected: number, timeoutMs: number): Promise<{ rows: number; metadataLocation: string | undefined }> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void job.exited.then(() => (exited = true));
  let last: { rows: number; metadataLocation: string } | undefined;
  while (Date.now() < deadline && !exited) {
    last = await committedRows(tableBucketArn, name);
    if (last !== undefined && last.rows >= expected) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { rows: last?.rows ?? 0, metadataLocation: last?.metadataLocation };
}

/** SIGTERM (graceful stop with a final checkpoint) and the exit code. */
export async function stopGracefully(job: RunningJob, timeoutMs = 90_000): Promise<number | string> {
  job.child.kill('SIGTERM');
  const timer = setTimeout(() => job.child.kill('SIGKILL'), timeoutMs);
  try {
    return await job.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Every record of a topic, read up to the end offsets it has now. */
export async function readTopic(endpoints: ServiceEndpoints, topic: string): Promise<kafkajs.KafkaMessage[]> {
  const kafka = new kafkajs.Kafka({ clientId: 'jobs-e2e', brokers: endpoints.kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; high: string; low: string }[];
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new Error(`topic ${topic} does not exist: nothing was ever written to it`);
    ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const messages: kafkajs.KafkaMessage[] = [];
  if (remaining.size === 0) return messages;
  const consumer = kafka.consumer({ groupId: uniqueName('jobs-e2e-reader-') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic}: ${messages.length} messages, partitions not finished: ${[...remaining.keys()].join(',')}`)), 60_000);
      void consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            messages.push(message);
            const high = remaining.get(partition);
            if (high !== undefined && BigInt(message.offset) + 1n >= high) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** Checks the dead-letter topic holds exactly the records produce.js made malformed, each with a reason. */
export async function assertDeadLettersAreTheMalformed(endpoints: ServiceEndpoints, topic: string, summary: ProduceSummary): Promise<void> {
  const letters = await readTopic(endpoints, `${topic}.dlq`);
  const keys = letters.map((m) => m.key?.toString() ?? '').sort();
  assert.equal(letters.length, summary.bad, 'one dead letter per malformed record');
  assert.deepEqual(keys, (summary.badIds ?? []).map(String).sort(), 'dead letters are exactly the malformed records (by key = producer index)');
  const reasons = new Map<string, number>();
  for (const m of letters) {
    const reason = m.headers?.['streamline.dlq.reason']?.toString() ?? '(none)';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  assert.deepEqual([...reasons.keys()].sort(), ['malformed_json', 'schema_violation'], `reasons: ${JSON.stringify([...reasons])}`);
}

/** Reads a table through pyiceberg with one column's values, asserting it exists. */
export async function readTable(metadataLocation: string | undefined, options: { column?: string; rows?: boolean }): Promise<IcebergReadResult> {
  assert.ok(metadataLocation, 'the job created its table');
  return readIcebergTable(metadataLocation, options);
}

/** The local warehouse's current metadata file of `sink.<name>` (embedded default). */
export function localMetadataLocation(workDir: string, name: string): string {
  const dir = join(workDir, 'warehouse', 'sink', name, 'metadata');
  return join(dir, `${readFileSync(join(dir, 'version-hint.text'), 'utf8').trim()}.metadata.json`);
}

/** Runs `node dist/run.js jobs/<job> --generator-count N` with no Kafka or AWS configuration at all. */
export async function runEmbedded(job: string, count: number): Promise<{ workDir: string; code: number | string; log: RunningJob }> {
  const workDir = mkdtempSync(join(tmpdir(), `jobs-embedded-${job}-`));
  const running = startJob([`jobs/${job}`, '--generator-count', String(count), '--work-dir', workDir, '--metrics-port', '0', '--checkpoint-interval-ms', '1000'], { HOME: process.env.HOME ?? tmpdir() });
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 120_000);
  const code = await running.exited;
  clearTimeout(timer);
  return { workDir, code, log: running };
}

/** What one Kafka → S3 Tables run produced, for the job-specific assertions. */
export interface KafkaRunResult {
  readonly summary: ProduceSummary;
  /** produce.js's records by index, replayed from the job's generator. */
  readonly records: unknown[];
  readonly bad: ReadonlySet<number>;
  readonly table: IcebergReadResult;
  readonly timings: { produceMs: number; untilRowsMs: number; stopMs: number };
}

/**
 * The whole production path for `job` with the Kafka client `options.client` (KAFKA_CLIENT, for
 * produce.js and the job): produce `count` records (a fraction malformed) to a
 * fresh topic, run the job through the CLI until its table holds `expectedRows(run)` rows, stop
 * it with SIGTERM (must exit 0), check the dead letters, and read the table with pyiceberg.
 */
export async function runKafkaToS3Tables(
  endpoints: ServiceEndpoints,
  job: { name: string; generate: (index: number, random: () => number) => unknown },
  options: { count: number; badFraction: number; seed: number; partitions: number; column: string; rows?: boolean; expectedRows: (records: unknown[], bad: ReadonlySet<number>) => number; client?: KafkaClientKind },
): Promise<KafkaRunResult> {
  const topic = uniqueName(`${job.name.replaceAll('_', '-')}-e2e-`);
  const buckets = await createBuckets();
  let started = Date.now();
  const summary = await produce(endpoints, `jobs/${job.name}`, { ...options, topic });
  const produceMs = Date.now() - started;
  assert.equal(summary.produced, options.count);
  assert.equal(summary.topic, topic);
  assert.equal(summary.badIds?.length ?? 0, summary.bad);
  assert.ok(summary.bad > 0, 'some records are malformed');
  const records = producedRecords(job.generate, options.count, options.seed);
  const bad = new Set(summary.badIds ?? []);
  const expected = options.expectedRows(records, bad);

  const workDir = mkdtempSync(join(tmpdir(), `jobs-e2e-${job.name}-`));
  const running = startJob([`jobs/${job.name}`], productionEnv(endpoints, { topic, ...buckets, workDir, ...(options.client === undefined ? {} : { client: options.client }) }));
  started = Date.now();
  const reached = await waitForRows(running, buckets.tableBucketArn, job.name, expected, 120_000);
  const untilRowsMs = Date.now() - started;
  started = Date.now();
  const code = await stopGracefully(running);
  const stopMs = Date.now() - started;
  assert.equal(code, 0, `graceful stop exits 0; job log:\n${running.logTail()}`);
  assert.equal(reached.rows, expected, `table rows after ${untilRowsMs} ms; job log:\n${running.logTail()}`);

  await assertDeadLettersAreTheMalformed(endpoints, topic, summary);
  // The final checkpoint may have committed again: read whatever is current now.
  const final = await committedRows(buckets.tableBucketArn, job.name);
  const table = await readTable(final?.metadataLocation, { column: options.column, ...(options.rows ? { rows: true } : {}) });
  assert.equal(table.rowCount, expected, 'pyiceberg reads the same number of rows');
  return { summary, records, bad, table, timings: { produceMs, untilRowsMs, stopMs } };
}
