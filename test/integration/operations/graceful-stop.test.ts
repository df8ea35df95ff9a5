/**
 * Graceful stop of `run.js jobs/orders` reading a real Kafka topic while it is being produced:
 * SIGTERM mid-stream takes a final checkpoint, commits the table and the group offsets, exits 0;
 * the table then holds exactly the records up to the committed offsets, and a restart continues
 * with no duplicate. A second signal exits at once (130) and exactly-once still holds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureServices } from '../../helpers/services.js';
import { jobArgs, jobEnvironment, newDeployment, type Deployment } from './support/job-env.js';
import {
  JobProcess,
  committedOffsets,
  completedCheckpoints,
  createTopic,
  expectedOrderIds,
  freePort,
  httpGet,
  produceOrders,
  readTopic,
  scrape,
  tableOrderIds,
  waitFor,
  type ProduceSummary,
} from './support/job-harness.js';

const JOB = { job: 'orders' };
const INPUT = { job: 'orders', operator: 'orders.input' };

/**
 * Starts a job on a free port; once it consumes (ready: group joined, partitions assigned) starts
 * the production, and waits until at least `records` were consumed and a checkpoint completed.
 */
async function startAndWait(d: Deployment, records: number, startProduction: () => Promise<ProduceSummary>): Promise<{ job: JobProcess; production: Promise<ProduceSummary> }> {
  const port = await freePort();
  const job = new JobProcess(jobArgs(port), jobEnvironment(d));
  running.add(job);
  await waitFor('the job to be ready', 120_000, async () => {
    if (job.child.exitCode !== null) throw new Error(`job exited early (${job.child.exitCode}):\n${job.tail()}`);
    return (await httpGet(port, '/readyz')).status === 200 ? true : undefined;
  });
  const production = startProduction();
  production.catch(() => undefined);
  await waitFor(`${records} records consumed and a checkpoint completed`, 120_000, async () => {
    if (job.child.exitCode !== null) throw new Error(`job exited early (${job.child.exitCode}):\n${job.tail()}`);
    const s = await scrape(port);
    const ok = s !== undefined && (s.sum('streamline_records_in_total', INPUT) ?? 0) >= records && (s.sum('streamline_checkpoints_completed_total', JOB) ?? 0) >= 1;
    return ok ? true : undefined;
  });
  return { job, production };
}

/** Runs the job until the whole topic is in the table (lag 0 after production ended, two more checkpoints), then stops it. */
async function drain(d: Deployment, production: Promise<ProduceSummary>): Promise<{ summary: ProduceSummary; restores: number }> {
  const port = await freePort();
  const job = new JobProcess(jobArgs(port), jobEnvironment(d));
  running.add(job);
  const summary = await production;
  let completedAtZeroLag: number | undefined;
  const s = await waitFor('the job to drain the topic', 180_000, async () => {
    if (job.child.exitCode !== null) throw new Error(`job exited early (${job.child.exitCode}):\n${job.tail()}`);
    const s = await scrape(port);
    if (s === undefined) return undefined;
    const completed = s.sum('streamline_checkpoints_completed_total', JOB) ?? 0;
    const lagSeries = s.all('streamline_kafka_consumer_lag_records', JOB);
    // Partitions without new records since the restore report no lag series: compare offsets instead.
    const committed = await committedOffsets(d.brokers, d.groupId, d.topic);
    const drained = lagSeries.every((x) => x.value === 0) && [...endOffsets.get(d.topic)!.entries()].every(([p, end]) => committed.get(p) === end);
    if (drained && completedAtZeroLag === undefined) completedAtZeroLag = completed;
    return completedAtZeroLag !== undefined && completed >= completedAtZeroLag + 1 ? s : undefined;
  }, 250);
  job.signal('SIGTERM');
  const exit = await job.exit(40_000);
  assert.equal(exit.code, 0, job.tail());
  return { summary, restores: s.sum('streamline_restores_total', JOB) ?? 0 };
}

const running = new Set<JobProcess>();
const endOffsets = new Map<string, Map<number, number>>();

/** Produces in the background and records the topic's end offsets once production finished. */
function produceInBackground(d: Deployment, options: { count: number; seed: number; rate: number }): Promise<ProduceSummary> {
  return produceOrders(d.brokers, d.topic, { ...options, badFraction: 0.02, partitions: 3 }).then(async (summary) => {
    const records = await readTopic(d.brokers, d.topic);
    const ends = new Map<number, number>();
    for (const r of records) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
    endOffsets.set(d.topic, ends);
    return summary;
  });
}

describe('graceful stop (SIGTERM) of a Kafka → Iceberg job', () => {
  let brokers: string[];

  before(async () => {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
  });

  after(async () => {
    for (const job of running) await job.kill();
  });

  it('SIGTERM mid-stream: exit 0, final checkpoint committed with the offsets, restart continues with no duplicate', async () => {
    const d = newDeployment(brokers, 'opsx-stop');
    await createTopic(brokers, d.topic, 3);
    const { job, production } = await startAndWait(d, 4_000, () => produceInBackground(d, { count: 40_000, seed: 21, rate: 2_000 }));
    const before = completedCheckpoints(d.checkpoints).at(-1) ?? 0;
    const signalledAt = performance.now();
    job.signal('SIGTERM');
    const exit = await job.exit(40_000);
    const stopMs = Math.round(performance.now() - signalledAt);
    assert.equal(exit.code, 0, `graceful stop exits 0:\n${job.tail()}`);
    console.log(`graceful stop: exit 0 after ${stopMs} ms`);

    const final = completedCheckpoints(d.checkpoints).at(-1) ?? 0;
    assert.ok(final > before, `a final checkpoint completed after the signal (newest before ${before}, after ${final})`);
    const table = await tableOrderIds(d.warehouse);
    assert.equal(table.lastSummary?.['streamline.checkpoint-id'], String(final), 'the last Iceberg snapshot is the final checkpoint');

    // The table holds exactly the valid records below the committed offsets of the group.
    const summary = await production;
    const committed = await committedOffsets(brokers, d.groupId, d.topic);
    assert.equal(committed.size, 3, 'offsets committed for every partition');
    const records = await readTopic(brokers, d.topic);
    const read = records.filter((r) => r.offset < (committed.get(r.partition) ?? 0));
    const expectedSoFar = expectedOrderIds(read, summary.badIds);
    assert.ok(read.length > 0 && read.length < summary.produced, `stopped mid-stream (${read.length} of ${summary.produced} read)`);
    assert.equal(table.ids.length, new Set(table.ids).size, 'no duplicate order in the table');
    assert.deepEqual(table.ids, [...expectedSoFar].sort(), 'table = every valid record up to the committed offsets');

    // Restart: continues from the final checkpoint and drains the rest exactly once.
    const second = await drain(d, production);
    assert.equal(second.restores, 1, 'the restart restored from a checkpoint');
    const all = await tableOrderIds(d.warehouse);
    assert.equal(all.ids.length, new Set(all.ids).size, 'no duplicate after the restart');
    assert.deepEqual(all.ids, [...expectedOrderIds(records, summary.badIds)].sort(), 'every valid record exactly once');
  });

  it('a second signal exits at once with 130; the next start is still exactly once', async () => {
    const d = newDeployment(brokers, 'opsx-kill');
    await createTopic(brokers, d.topic, 3);
    const { job, production } = await startAndWait(d, 4_000, () => produceInBackground(d, { count: 30_000, seed: 22, rate: 2_000 }));
    const signalledAt = performance.now();
    job.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 30));
    job.signal('SIGTERM');
    const exit = await job.exit(20_000);
    const ms = Math.round(performance.now() - signalledAt);
    assert.equal(exit.code, 130, `second signal exits with 130:\n${job.tail()}`);
    assert.ok(ms < 2_000, `exits at once (${ms} ms)`);
    console.log(`second signal: exit 130 after ${ms} ms`);

    const { summary } = await drain(d, production);
    const all = await tableOrderIds(d.warehouse);
    assert.equal(all.ids.length, new Set(all.ids).size, 'no duplicate after the hard stop');
    assert.deepEqual(all.ids, [...expectedOrderIds(await readTopic(brokers, d.topic), summary.badIds)].sort(), 'every valid record exactly once');
  });
});
