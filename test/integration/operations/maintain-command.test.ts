/**
 * `node dist/run.js maintain jobs/orders` on a table the job filled with many small commits (the
 * built-in generator, a checkpoint every 200 ms, local warehouse), and the same maintenance inside
 * a running job (MAINTAIN_INTERVAL_MS). pyiceberg reads the tables: fewer data files, the same
 * rows as a run without maintenance, and every retained snapshot still scans whole.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { readIcebergTable, type IcebergReadResult } from '../../helpers/services.js';
import { JobProcess } from './support/job-harness.js';

const RECORDS = 3000;
const dirs: string[] = [];
const running = new Set<JobProcess>();

/** Environment of a generator run in its own work dir (nothing from the shell that could point it at Kafka or AWS). */
function generatorEnv(workDir: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (/^(KAFKA_|TABLE_BUCKET_ARN|DYNAMODB_TABLE|CHECKPOINT_URI|WAREHOUSE|FROM_CHECKPOINT|GENERATOR_|METRICS_PORT|MAINTAIN_|SCALE_OUT)/.test(name)) delete env[name];
  return {
    ...env,
    STREAMLINE_WORK_DIR: workDir,
    WAREHOUSE: join(workDir, 'warehouse'),
    GENERATOR_COUNT: String(RECORDS),
    GENERATOR_RATE: '1000',
    CHECKPOINT_INTERVAL_MS: '200',
    TARGET_FILE_SIZE_BYTES: String(4 * 1024 * 1024),
    PARALLELISM: '1',
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

async function runToEnd(args: readonly string[], env: Record<string, string | undefined>): Promise<JobProcess> {
  const job = new JobProcess(args, env);
  running.add(job);
  const status = await job.exit(180_000);
  running.delete(job);
  assert.equal(status.code, 0, `${args.join(' ')} exited ${status.code}:\n${job.tail()}`);
  return job;
}

function newWorkDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'maintain-'));
  dirs.push(dir);
  return dir;
}

const tableDir = (workDir: string) => join(workDir, 'warehouse', 'sink', 'orders');
/** The job's table read by pyiceberg from its current metadata file (named by the local catalog's version hint). */
async function readOrders(workDir: string, options: { files?: boolean; snapshotRows?: boolean } = {}): Promise<IcebergReadResult> {
  const metadataDir = join(tableDir(workDir), 'metadata');
  const version = readFileSync(join(metadataDir, 'version-hint.text'), 'utf8').trim();
  return readIcebergTable(join(metadataDir, `${version}.metadata.json`), { column: 'order_id', ...options });
}

let reference: IcebergReadResult;
before(async () => {
  const workDir = newWorkDir();
  await runToEnd(['jobs/orders'], generatorEnv(workDir));
  reference = await readOrders(workDir, { files: true });
  assert.ok(reference.rowCount > RECORDS * 0.9, `rows: ${reference.rowCount}`);
});

after(async () => {
  for (const job of running) await job.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

it('maintain <job>: compacts, expires and removes orphans; pyiceberg reads the same rows from fewer files', { timeout: 300_000 }, async () => {
  const workDir = newWorkDir();
  await runToEnd(['jobs/orders'], generatorEnv(workDir));
  const before = await readOrders(workDir, { files: true });
  assert.deepEqual(before.column!.values, reference.column!.values, 'the generator is deterministic');
  assert.ok(before.files!.length >= 10, `small files to compact: ${before.files!.length}`);
  // A file nobody references, older than the safety age (a data file of a commit that never happened).
  const stray = join(tableDir(workDir), 'data', 'stray-from-a-crash.parquet');
  writeFileSync(stray, 'not parquet');
  const old = new Date(Date.now() - 10 * 60_000);
  utimesSync(stray, old, old);

  const maintain = await runToEnd(['maintain', 'jobs/orders'], generatorEnv(workDir, {
    MAINTAIN_COMPACT_MIN_FILES: '2',
    MAINTAIN_SNAPSHOTS_KEEP: '1',
    MAINTAIN_SNAPSHOT_MAX_AGE_MS: '0',
    MAINTAIN_ORPHAN_MIN_AGE_MS: '60000',
  }));
  const report = JSON.parse(maintain.log.slice(maintain.log.indexOf('{\n'), maintain.log.lastIndexOf('}') + 1)) as { job: string; outputs: { output: string; counts: Record<string, number>; failures: string[] }[] };
  assert.equal(report.job, 'orders');
  const [table] = report.outputs;
  assert.equal(table?.output, 'sink.orders');
  assert.deepEqual(table.failures, []);
  // Files the retained checkpoints still list (pending-files) are left alone; the rest of each partition is compacted.
  assert.ok(table.counts['compacted-files']! >= 2 && table.counts['compacted-into-files']! < table.counts['compacted-files']!, JSON.stringify(table.counts));
  assert.ok(table.counts['expired-snapshots']! >= 5, JSON.stringify(table.counts));
  assert.ok(table.counts['deleted-orphan-files']! >= 1, JSON.stringify(table.counts));

  const after = await readOrders(workDir, { files: true, snapshotRows: true });
  assert.deepEqual(after.column!.values, before.column!.values, 'identical rows');
  assert.ok(after.files!.length < before.files!.length, `files: ${before.files!.length} → ${after.files!.length}`);
  assert.equal(after.snapshots.at(-1)?.operation, 'replace');
  // Expiry keeps the job's own newest commit (restores read its summary) under the replace snapshot.
  assert.deepEqual(after.snapshots.map((s) => s.operation), ['append', 'replace']);
  assert.deepEqual(Object.values(after.snapshotRows!), [before.rowCount, before.rowCount], 'every retained snapshot scans whole');

  // The job restarts on the maintained table: it restores and finds nothing more to do.
  await runToEnd(['jobs/orders'], generatorEnv(workDir));
  assert.deepEqual((await readOrders(workDir)).column!.values, before.column!.values, 'a restart adds nothing twice');
});

it('MAINTAIN_INTERVAL_MS: a running job compacts between its commits; every row once', { timeout: 300_000 }, async () => {
  const workDir = newWorkDir();
  const job = await runToEnd(['jobs/orders'], generatorEnv(workDir, { MAINTAIN_INTERVAL_MS: '500', MAINTAIN_COMPACT_MIN_FILES: '2', MAINTAIN_ORPHAN_MIN_AGE_MS: '60000' }));
  assert.match(job.log, /maintenance pass done/);
  const read = await readOrders(workDir, { files: true, snapshotRows: true });
  assert.deepEqual(read.column!.values, reference.column!.values, 'the same rows as a run without maintenance');
  const operations = read.snapshots.map((s) => s.operation);
  assert.ok(operations.includes('replace'), `snapshots: ${operations.join(', ')}`);
  assert.ok(operations.lastIndexOf('append') > operations.indexOf('replace'), 'the job went on committing after a compaction');
  assert.ok(read.files!.length < reference.files!.length, `files: ${reference.files!.length} without maintenance, ${read.files!.length} with`);
  for (const [id, rows] of Object.entries(read.snapshotRows!)) assert.ok(rows > 0, `snapshot ${id} scans`);
});
