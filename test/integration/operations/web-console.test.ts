/**
 * The web console in a real headless Chromium: `node run.js jobs/orders` runs as a child process
 * and the browser loads `http://127.0.0.1:<metrics port>/`; the test waits until the page shows
 * the job's steps, a completed checkpoint and an Iceberg commit, checks what it shows against
 * the job's declaration and what is on disk (checkpoint `_metadata` files, the table's metadata
 * read as text), and keeps a screenshot in `artifacts/web-console/`. A second test reads Kafka
 * and checks the lag per partition and the dead letters by reason. Then the job is stopped and
 * the command its exit summary prints is run: pyiceberg must read the rows the summary counted.
 *
 * Without a Chromium the tests skip with a message — except in CI (CI=true), where they fail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ChromiumPage, HeadlessChromium, findChromium } from '../../helpers/headless-chromium.js';
import { ensureServices, repoRoot, servicesDir, uniqueName } from '../../helpers/services.js';
import { JobProcess, createTopic, freePort, httpGet, produceOrders, waitFor } from './support/job-harness.js';

const run = promisify(execFile);
const chromium = findChromium();
const inCi = process.env.CI === 'true';
const missing = chromium === undefined ? 'no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH)' : undefined;
if (missing && inCi) throw new Error(`CI=true: the web console test needs a headless Chromium: ${missing}`);

const ARTIFACTS = join(repoRoot(), 'artifacts', 'web-console');
/** The orders job's steps as src/jobs/orders.ts declares them. */
const ORDERS_STEPS = ['orders.input', 'orders.dedup', 'orders.to-row', 'orders.table'];

/** What the test reads off the page (by the ids and data attributes console.js renders). */
interface PageView {
  readonly job: string;
  readonly phase: string;
  readonly steps: { id: string; cells: string[] }[];
  readonly graph: string[];
  readonly checkpoints: { id: number; status: string }[];
  readonly commits: { snapshot: string; checkpoint: number; rows: number }[];
  readonly partitions: { key: string; lag: number }[];
  readonly deadLetters: { reason: string; count: number }[];
}

const READ_PAGE = `(() => {
  const rows = (selector) => [...document.querySelectorAll(selector)];
  const number = (text) => Number(String(text).replace(/[^0-9.]/g, ''));
  return {
    job: document.getElementById('job-name').textContent,
    phase: document.getElementById('phase').textContent,
    steps: rows('#steps tbody tr[data-step]').map((tr) => ({ id: tr.dataset.step, cells: [...tr.cells].map((td) => td.textContent.trim()) })),
    graph: rows('#graph g[data-step]').map((g) => g.dataset.step),
    checkpoints: rows('#checkpoint-rows tr[data-checkpoint]').map((tr) => ({ id: Number(tr.dataset.checkpoint), status: tr.dataset.status })),
    commits: rows('#commit-rows tr[data-snapshot]').map((tr) => ({ snapshot: tr.dataset.snapshot, checkpoint: Number(tr.dataset.checkpoint), rows: number(tr.cells[4].textContent) })),
    partitions: rows('#lag-rows tr[data-partition]').map((tr) => ({ key: tr.dataset.partition, lag: number(tr.cells[2].textContent) })),
    deadLetters: rows('#dead-letter-rows tr[data-reason]').map((tr) => ({ reason: tr.dataset.reason, count: number(tr.cells[2].textContent) })),
  };
})()`;

/** The page is complete once steps, a completed checkpoint, a commit and the rates (two polls) are there. */
const SHOWS_STEPS_CHECKPOINT_COMMIT = `(() => {
  const steps = document.querySelectorAll('#steps tbody tr[data-step]').length;
  const completed = document.querySelector('#checkpoint-rows tr[data-status="completed"]');
  const commit = document.querySelector('#commit-rows tr[data-snapshot]');
  const rate = document.querySelector('#steps tbody tr[data-step] td:nth-child(6)');
  return steps > 0 && completed !== null && commit !== null && rate !== null && /[0-9]/.test(rate.textContent);
})()`;

/** Snapshot ids in the table's current metadata file, read as text (64-bit ids do not survive JSON.parse). */
function tableSnapshotIds(warehouse: string): Set<string> {
  const metadata = join(warehouse, 'sink', 'orders', 'metadata');
  const version = readFileSync(join(metadata, 'version-hint.text'), 'utf8').trim();
  return new Set([...readFileSync(join(metadata, `${version}.metadata.json`), 'utf8').matchAll(/"snapshot-id"\s*:\s*(\d+)/g)].map((m) => m[1]!));
}

/** The summary object the job logged last (JSON logs: stderr is a pipe). */
function loggedSummary(log: string): { rowsCommitted: number; outputs: { totalRows: number; readCommand: string }[] } {
  const line = log
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.includes('"summary"'));
  assert.ok(line !== undefined, 'the job logged its exit summary');
  return (JSON.parse(line) as { summary: ReturnType<typeof loggedSummary> }).summary;
}

/** Runs the summary's read command as a user would, with the services' pyiceberg as python3. */
async function runReadCommand(command: string): Promise<string> {
  const venv = join(servicesDir(), 'venv', 'bin');
  if (!existsSync(join(venv, 'python3'))) await ensureServices({ moto: true }); // installs the virtualenv
  const { stdout } = await run('sh', ['-c', command], { env: { ...process.env, PATH: `${venv}:${process.env.PATH ?? ''}` }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

describe('web console in headless Chromium', { skip: missing }, () => {
  let browser: HeadlessChromium;
  const work: string[] = [];
  const jobs: JobProcess[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await HeadlessChromium.launch(chromium!);
  });

  after(async () => {
    for (const job of jobs) await job.kill();
    await browser?.close();
    for (const dir of work) rmSync(dir, { recursive: true, force: true });
  });

  async function openConsole(port: number): Promise<ChromiumPage> {
    const page = await browser.newPage(1400, 1000);
    await waitFor('the console to answer', 60_000, async () => ((await httpGet(port, '/')).status === 200 ? true : undefined));
    await page.navigate(`http://127.0.0.1:${port}/`);
    return page;
  }

  it('shows the job steps, a completed checkpoint and an Iceberg commit of a running job (parallel subtasks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'web-console-'));
    work.push(dir);
    const port = await freePort();
    const job = new JobProcess(['jobs/orders'], {
      PATH: process.env.PATH,
      STREAMLINE_WORK_DIR: dir,
      METRICS_PORT: String(port),
      CHECKPOINT_INTERVAL_MS: '1000',
      CHECKPOINT_RETAIN: '1000', // every checkpoint the page lists stays on disk to be checked
      GENERATOR_RATE: '1000',
      PARALLELISM: '2',
      STATUS_INTERVAL_MS: '0',
    });
    jobs.push(job);
    const page = await openConsole(port);
    await page.waitFor('the steps, a completed checkpoint and a commit', 90_000, SHOWS_STEPS_CHECKPOINT_COMMIT);
    const view = await page.evaluate<PageView>(READ_PAGE);
    await page.screenshot(join(ARTIFACTS, 'orders.png'));

    assert.equal(view.job, 'orders');
    assert.equal(view.phase, 'running');
    assert.deepEqual(view.steps.map((s) => s.id), ORDERS_STEPS, 'the table lists every step of the job, in order');
    assert.deepEqual(view.graph, ORDERS_STEPS, 'the graph draws every step');
    const [input] = view.steps;
    assert.equal(input!.cells[1], 'source');
    assert.equal(view.steps[1]!.cells[1], 'operator (keyed)');
    assert.ok(Number(input!.cells[4]!.replace(/,/g, '')) > 0, `the source emitted records: ${input!.cells.join(' | ')}`);

    const completed = view.checkpoints.filter((c) => c.status === 'completed');
    assert.ok(completed.length >= 1);
    for (const c of completed) assert.ok(existsSync(join(dir, 'checkpoints', 'orders', `chk-${c.id}`, '_metadata')), `checkpoint ${c.id} shown as completed has its _metadata`);
    const snapshots = tableSnapshotIds(join(dir, 'warehouse'));
    assert.ok(view.commits.length >= 1);
    for (const commit of view.commits) {
      assert.ok(snapshots.has(commit.snapshot), `snapshot ${commit.snapshot} shown is in the table`);
      assert.ok(commit.rows > 0);
    }
    assert.deepEqual(view.partitions, [], 'the embedded generator reads no Kafka partition');

    job.signal('SIGTERM');
    const exit = await job.exit(60_000);
    assert.equal(exit.code, 0, job.tail());
    const summary = loggedSummary(job.log);
    const printed = await runReadCommand(summary.outputs[0]!.readCommand);
    assert.match(printed, new RegExp(`^${summary.rowsCommitted} rows\\n`), `pyiceberg reads the rows the summary counted: ${printed.slice(0, 300)}`);
    assert.equal(summary.outputs[0]!.totalRows, summary.rowsCommitted, 'a fresh table holds what this run committed');
  });

  it('shows the Kafka lag per partition and the dead letters by reason of a job reading Kafka', async () => {
    const { kafkaBrokers } = await ensureServices({ kafka: true });
    const topic = uniqueName('console-orders-');
    await createTopic(kafkaBrokers, topic, 3);
    const produced = await produceOrders(kafkaBrokers, topic, { count: 3_000, seed: 17, badFraction: 0.02, partitions: 3, keyBy: 'record' });
    assert.ok(produced.bad > 0);
    const dir = mkdtempSync(join(tmpdir(), 'web-console-kafka-'));
    work.push(dir);
    const port = await freePort();
    const job = new JobProcess(['jobs/orders'], {
      PATH: process.env.PATH,
      STREAMLINE_WORK_DIR: dir,
      METRICS_PORT: String(port),
      CHECKPOINT_INTERVAL_MS: '1000',
      KAFKA_BROKERS: kafkaBrokers.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('console-group-'),
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      STATUS_INTERVAL_MS: '0',
    });
    jobs.push(job);
    const page = await openConsole(port);
    await page.waitFor('the steps, a completed checkpoint and a commit', 90_000, SHOWS_STEPS_CHECKPOINT_COMMIT);
    // Every record read: the lag of all three partitions is 0, and every bad record is a dead letter.
    const view = await page.waitFor<PageView>('every partition read and every bad record counted', 90_000, `(() => {
      const view = ${READ_PAGE};
      const letters = view.deadLetters.reduce((n, r) => n + r.count, 0);
      return view.partitions.length === 3 && view.partitions.every((p) => p.lag === 0) && letters === ${produced.bad} ? view : null;
    })()`);
    await page.screenshot(join(ARTIFACTS, 'orders-kafka.png'));
    assert.deepEqual(view.partitions.map((p) => p.key), [0, 1, 2].map((p) => `${topic}:${p}`));
    // produce.js alternates its bad records: broken JSON first, then JSON that violates the schema.
    const byReason = Object.fromEntries(view.deadLetters.map((r) => [r.reason, r.count]));
    assert.deepEqual(byReason, { malformed_json: Math.ceil(produced.bad / 2), schema_violation: Math.floor(produced.bad / 2) });
    const letters = await waitFor('the dead-letter location', 10_000, async () => page.evaluate<string>(`document.getElementById('dead-letter-location').textContent`));
    assert.equal(letters, `→ kafka topic ${topic}.dlq`);
    job.signal('SIGTERM');
    assert.equal((await job.exit(60_000)).code, 0, job.tail());
  });
});
