/**
 * Jobs written outside this repository, against the public API only: a lone `.mjs` that imports
 * 'streamline' and nothing else (run with two parallel subtasks, which import it again in their
 * worker threads), and a job in the user's own package that depends on streamline. Both run with
 * `node dist/run.js ./path/to/job` from the user's folder; pyiceberg reads what they wrote.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { readIcebergTable } from '../../helpers/services.js';
import { localMetadataLocation, RUN_JS } from './support/job-e2e.js';

const REPO = dirname(dirname(RUN_JS));
const folders: string[] = [];
after(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A refunds job, as a user would write it: schema, generator, key, a keyed step and a table. */
const REFUNDS_JOB = `
import { defineJob, dedupOperator, icebergTableOutput, partitionBy, required, tableSchema, z } from 'streamline';

const Refund = z.object({
  refund_id: z.string().min(1),
  order_id: z.string().min(1),
  amount_cents: z.number().int().positive(),
  refunded_at: z.iso.datetime(),
});

const refundsTable = tableSchema({
  refund_id: required('string'),
  order_id: required('string'),
  amount: required('decimal(12, 2)'),
  refunded_at: required('timestamptz'),
});

export default defineJob({
  name: 'refunds',
  checkpoint: { intervalMs: 1000 },
  input: {
    topic: 'refunds',
    schema: Refund,
    generate: (i, random) => ({
      refund_id: 'r-' + i,
      order_id: 'o-' + i,
      amount_cents: 1 + Math.floor(random() * 10000),
      refunded_at: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
    }),
    key: (r) => r.order_id,
    eventTime: (r) => Date.parse(r.refunded_at),
  },
  build: (refunds, env) =>
    refunds
      .keyBy((r) => r.order_id)
      .apply('dedup', () => dedupOperator({ ttlMs: 3600000 }))
      .map('to-row', (r) => ({ refund_id: r.refund_id, order_id: r.order_id, amount: (r.amount_cents / 100).toFixed(2), refunded_at: r.refunded_at }))
      .sink('table', icebergTableOutput(env, { name: 'refunds', schema: refundsTable, partitionSpec: partitionBy(refundsTable, [{ column: 'refunded_at', transform: 'day' }]) })),
});
`;

/** Runs `node <repo>/dist/run.js <args>` in `cwd`, as a user in their own folder would. */
function runJob(cwd: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, METRICS_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, log });
    });
  });
}

function userFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  assert.ok(!dir.startsWith(REPO), 'the job lives outside the repository');
  return dir;
}

/** Every refund id the generator makes for `count` records, independently of the job. */
function expectedRefundIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `r-${i}`).sort();
}

test('a lone .mjs importing only streamline runs with two parallel subtasks; every record lands once', { timeout: 240_000 }, async () => {
  const dir = userFolder('user-mjs-');
  writeFileSync(join(dir, 'refunds.mjs'), REFUNDS_JOB);
  const count = 4_000;
  const { code, log } = await runJob(dir, ['./refunds.mjs', '--generator-count', String(count)], { PARALLELISM: '2' });
  assert.equal(code, 0, log);
  assert.match(log, /"subtasks":2.*parallel subtasks starting/, 'the worker threads imported the module again');
  const table = await readIcebergTable(localMetadataLocation(join(dir, '.streamline'), 'refunds'), { column: 'refund_id' });
  assert.equal(table.rowCount, count);
  assert.deepEqual(table.column!.values, expectedRefundIds(count));
});

test("a job in the user's own package imports streamline through the package's exports and runs", { timeout: 240_000 }, async () => {
  const dir = userFolder('user-package-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-jobs', private: true, type: 'module', dependencies: { streamline: `file:${REPO}` } }));
  // What `npm install` makes of a file: dependency.
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules', 'streamline'), 'dir');
  mkdirSync(join(dir, 'jobs'));
  writeFileSync(join(dir, 'jobs', 'refunds.js'), REFUNDS_JOB);

  // Plain Node, no runner involved: the package's `exports` name the public API.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', "const api = await import('streamline'); console.log(Object.keys(api).sort().join(' '))"], { cwd: dir });
  for (const name of ['defineJob', 'Dataflow', 'datagen', 'jsonInput', 'icebergTableOutput', 'tableSchema', 'required', 'optional', 'partitionBy', 'dedupOperator', 'keyedProcessOperator', 'tumblingEventTimeWindowOperator']) {
    assert.ok(stdout.split(/\s+/).includes(name), `streamline exports ${name}: ${stdout}`);
  }

  const count = 1_500;
  const { code, log } = await runJob(dir, ['./jobs/refunds.js', '--generator-count', String(count)], { PARALLELISM: '1' });
  assert.equal(code, 0, log);
  const table = await readIcebergTable(localMetadataLocation(join(dir, '.streamline'), 'refunds'), { column: 'refund_id' });
  assert.deepEqual(table.column!.values, expectedRefundIds(count));
});
