/**
 * The console's document (`/api/job`) after real runs of the sequence job (ids 0..n-1 into an
 * Iceberg table), in one thread and in parallel subtasks: steps with their counts, completed
 * checkpoints, commits. Checked against what is on disk — `_metadata` files, the table's
 * metadata JSON read as text — and against the generator's count, never against our own readers.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JobActivity } from '../../../../src/runtime/activity/job-activity.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { consoleRoutes } from '../../../../src/runtime/console/console-routes.js';
import { JobOverviewSource, type JobOverview } from '../../../../src/runtime/console/job-overview.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import type { Job } from '../../../../src/runtime/job.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { startMetricsServer } from '../../../../src/runtime/metrics-server.js';
import { ParallelJobRunner } from '../../../../src/runtime/parallel/parallel-job-runner.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';

const JOB_URL = new URL('../../../fixtures/jobs/sequence.js', import.meta.url).href;
const COUNT = 6_000;

/** Runs the sequence job to the end of its input; returns the console's document afterwards. */
async function runSequence(dir: string, parallelism: number): Promise<{ overview: JobOverview; source: JobOverviewSource }> {
  const job = ((await import(JOB_URL)) as { default: Job }).default;
  const settings = { GENERATOR_COUNT: String(COUNT), WAREHOUSE: join(dir, 'warehouse') };
  const metrics = new MetricsRegistry();
  const activity = new JobActivity(job.name, systemClock);
  const plan = await job.build({ jobName: job.name, settings, workDir: dir, logger: silentLogger(), metrics });
  const common = {
    flow: plan.flow,
    store: new LocalCheckpointStore(join(dir, 'checkpoints')),
    checkpoint: { intervalMs: 300 },
    metrics,
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
    activity,
  };
  const runner =
    parallelism === 1
      ? new JobRunner(common)
      : new ParallelJobRunner({ ...common, parallelism, jobUrl: JOB_URL, settings, workDir: dir, stateBackend: 'heap', stateDir: join(dir, 'state'), logLevel: 'silent' });
  await runner.run();
  const source = new JobOverviewSource(plan.flow, metrics, activity, systemClock);
  return { overview: await source.sample(), source };
}

/** Snapshot ids in the table's current metadata file, read as text (64-bit ids do not survive JSON.parse). */
function tableSnapshotIds(warehouse: string): Set<string> {
  const metadata = join(warehouse, 'sink', 'sequence', 'metadata');
  const version = readFileSync(join(metadata, 'version-hint.text'), 'utf8').trim();
  const text = readFileSync(join(metadata, `${version}.metadata.json`), 'utf8');
  return new Set([...text.matchAll(/"snapshot-id"\s*:\s*(\d+)/g)].map((m) => m[1]!));
}

function assertOverview(overview: JobOverview, dir: string, parallelism: number): void {
  assert.equal(overview.job, 'sequence');
  assert.equal(overview.parallelism, parallelism);
  assert.deepEqual(
    overview.steps.map((s) => [s.name, s.kind]),
    [
      ['ids', 'source'],
      ['table', 'sink'],
    ],
  );
  const [source, sink] = overview.steps;
  assert.equal(source!.recordsOut, COUNT, 'every generated id left the source (summed over the threads)');
  assert.equal(sink!.recordsIn, COUNT);
  assert.equal(sink!.sink?.rowsCommitted, COUNT, 'one row per id committed');
  assert.equal(sink!.sink?.rowsWritten, COUNT);
  assert.ok(sink!.busySeconds > 0, 'the sink measured its writes');

  const completed = overview.checkpoints.history.filter((c) => c.status === 'completed');
  assert.ok(completed.length >= 1);
  assert.equal(overview.checkpoints.completed, completed.length);
  for (const c of completed) {
    assert.ok(existsSync(join(dir, 'checkpoints', 'sequence', `chk-${c.id}`, '_metadata')), `checkpoint ${c.id} has its _metadata on disk`);
    assert.ok(c.durationMs !== undefined && c.syncMs !== undefined && c.asyncMs !== undefined && c.fullBytes !== undefined, 'phases and size recorded');
    assert.equal(c.location, join(dir, 'checkpoints', 'sequence', `chk-${c.id}`));
  }

  const snapshots = tableSnapshotIds(join(dir, 'warehouse'));
  assert.ok(overview.commits.length >= 1);
  assert.equal(overview.commits.reduce((n, c) => n + c.rows, 0), COUNT, 'the commits listed add up to every row');
  for (const commit of overview.commits) {
    assert.ok(snapshots.has(commit.id), `snapshot ${commit.id} is in the table`);
    assert.ok(completed.some((c) => c.id === commit.checkpointId), 'a commit belongs to a completed checkpoint');
    assert.equal(commit.step, 'sequence.table');
  }
  const [output] = overview.outputs;
  assert.equal(output?.name, 'sink.sequence');
  assert.equal(output?.totalRows, COUNT);
  assert.equal(fileURLToPath(output!.location), join(dir, 'warehouse', 'sink', 'sequence'));
  assert.ok(output?.metadataLocation !== undefined && existsSync(fileURLToPath(output.metadataLocation)));
  assert.deepEqual(overview.deadLetters, { total: 0, byReason: [] });
}

test('the overview of a run in one thread: steps, completed checkpoints and commits as on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'overview-'));
  try {
    const { overview } = await runSequence(dir, 1);
    assertOverview(overview, dir, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the overview of a run in parallel subtasks counts what every subtask did', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'overview-parallel-'));
  try {
    const { overview } = await runSequence(dir, 2);
    assertOverview(overview, dir, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the console routes: the page, its script and /api/job (503 until the job is built)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'overview-http-'));
  let source: JobOverviewSource | undefined;
  const metrics = new MetricsRegistry();
  const server = await startMetricsServer(metrics, { alive: () => true, ready: () => true }, 0, '127.0.0.1', consoleRoutes(() => source));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="console.js"><\/script>/);
    for (const id of ['graph', 'steps', 'checkpoints', 'kafka', 'watermarks', 'commits', 'dead-letters']) assert.match(html, new RegExp(`id="${id}"`));
    const script = await fetch(`${base}/console.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /text\/javascript/);
    assert.match(await script.text(), /fetch\('api\/job'/);
    assert.equal((await fetch(`${base}/api/job`)).status, 503);
    assert.equal((await fetch(`${base}/metrics`)).status, 200, 'the metrics endpoints are unchanged');
    assert.equal((await fetch(`${base}/nothing`)).status, 404);

    source = (await runSequence(dir, 1)).source;
    const api = await fetch(`${base}/api/job`);
    assert.equal(api.status, 200);
    assert.equal(api.headers.get('cache-control'), 'no-store');
    const document = (await api.json()) as JobOverview;
    assert.equal(document.job, 'sequence');
    assert.equal(document.steps.length, 2);
    assert.ok(document.commits.length >= 1);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
