/**
 * `run.js jobs/orders` at full speed, as a user runs it: the embedded generator never waits and
 * the Kafka backlog is always ready, yet health probes are answered, checkpoints run on schedule,
 * the lease is kept and signals are obeyed. What the table holds is read back with pyiceberg and
 * compared with the input, computed here from the job's generator and the topic itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleOrder } from '../../../src/jobs/samples/orders-sample.js';
import { mixSeed, SeededRandom } from '../../../src/runtime/random.js';
import { ensureServices } from '../../helpers/services.js';
import { jobEnvironment, newDeployment } from './support/job-env.js';
import { JobProcess, completedCheckpoints, createTopic, expectedOrderIds, freePort, httpGet, produceOrders, readTopic, tableOrderIds, waitFor } from './support/job-harness.js';

const running = new Set<JobProcess>();
after(async () => {
  for (const job of running) await job.kill();
});

/** The embedded default's environment: no Kafka, no AWS; everything under `workDir`. */
function embeddedEnvironment(workDir: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('KAFKA_') || name.startsWith('GENERATOR_')) delete env[name];
  for (const name of ['TABLE_BUCKET_ARN', 'DYNAMODB_TABLE', 'CHECKPOINT_URI', 'WAREHOUSE', 'FROM_CHECKPOINT', 'METRICS_PORT', 'CHECKPOINT_INTERVAL_MS', 'STATE_BACKEND']) delete env[name];
  return { ...env, STREAMLINE_WORK_DIR: workDir, LOG_LEVEL: 'info' };
}

/** Distinct order ids of the first `count` generated orders: the embedded generator's documented seeding (record i from hash(seed 0, i)), replayed. */
function generatedOrderIds(count: number): Set<string> {
  const random = new SeededRandom(0);
  const ids = new Set<string>();
  for (let i = 0; i < count; i++) {
    random.reseed(mixSeed(0, i));
    ids.add((sampleOrder(i, random.next) as { order_id: string }).order_id);
  }
  return ids;
}

describe('the orders job at full speed', () => {
  it('unbounded embedded run: health answered within 250 ms every second, checkpoints every interval, SIGTERM stops it with a final checkpoint', { timeout: 240_000 }, async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'full-load-'));
    const port = await freePort();
    const job = new JobProcess(['jobs/orders', '--metrics-port', String(port)], embeddedEnvironment(workDir));
    running.add(job);
    await waitFor('the job to serve /healthz', 60_000, async () => ((await httpGet(port, '/healthz')).status === 200 ? true : undefined), 100);
    const slow: string[] = [];
    let probes = 0;
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      const t0 = performance.now();
      const { status } = await httpGet(port, '/healthz');
      const ms = performance.now() - t0;
      probes++;
      if (status !== 200 || ms >= 250) slow.push(`probe ${probes}: status ${status} after ${ms.toFixed(0)} ms`);
      if (job.child.exitCode !== null) throw new Error(`the job exited (${job.child.exitCode}):\n${job.tail()}`);
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - ms)));
    }
    assert.deepEqual(slow, [], `every /healthz probe answered 200 in under 250 ms (${probes} probes)`);
    // Retention keeps only the last few checkpoint folders: count completions in the log.
    const completedIn60s = (job.log.match(/"msg":"checkpoint complete"/g) ?? []).length;
    assert.ok(completedIn60s >= 4, `checkpoints completed in 60 s: ${completedIn60s}\n${job.tail()}`);
    const before = completedCheckpoints(join(workDir, 'checkpoints'));
    const signalled = performance.now();
    job.signal('SIGTERM');
    const exit = await job.exit(30_000);
    const stopMs = performance.now() - signalled;
    assert.equal(exit.code, 0, `exit code after SIGTERM\n${job.tail()}`);
    assert.ok(stopMs < 10_000, `stopped ${stopMs.toFixed(0)} ms after SIGTERM`);
    const afterStop = completedCheckpoints(join(workDir, 'checkpoints'));
    assert.ok(Math.max(...afterStop) > Math.max(...before), 'a final checkpoint completed on SIGTERM');
    assert.match(job.log, /"msg":"job finished"/);
  });

  it('bounded embedded run (--generator-count 2000000) exits 0 with every distinct order committed once', { timeout: 600_000 }, async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'full-load-bounded-'));
    const port = await freePort();
    const job = new JobProcess(['jobs/orders', '--generator-count', '2000000', '--metrics-port', String(port)], embeddedEnvironment(workDir));
    running.add(job);
    const exit = await job.exit(480_000);
    assert.equal(exit.code, 0, `exit code\n${job.tail()}`);
    const expected = generatedOrderIds(2_000_000);
    const { ids } = await tableOrderIds(join(workDir, 'warehouse'));
    assert.equal(ids.length, expected.size, 'one row per distinct generated order');
    assert.equal(new Set(ids).size, ids.length, 'no order twice');
    for (const id of ids) if (!expected.has(id)) assert.fail(`unexpected order ${id} in the table`);
  });

  describe('over a Kafka backlog', () => {
    let brokers: readonly string[];
    before(async () => {
      brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
    });

    it('1 M waiting messages with default settings: the lease is kept and the bounded run exits 0 with every valid order once', { timeout: 900_000 }, async () => {
      const d = newDeployment(brokers, 'full-load-kafka');
      await createTopic(brokers, d.topic, 6);
      const produced = await produceOrders(brokers, d.topic, { count: 1_000_000, seed: 11, badFraction: 0.01, partitions: 6 });
      const port = await freePort();
      const job = new JobProcess(['jobs/orders', '--metrics-port', String(port)], { ...jobEnvironment(d), KAFKA_STOP_AT: 'end' });
      running.add(job);
      const exit = await job.exit(600_000);
      assert.equal(exit.code, 0, `exit code\n${job.tail()}`);
      assert.doesNotMatch(job.log, /LeaseLostError|lease lost/i, 'the lease was kept');
      const expected = expectedOrderIds(await readTopic(brokers, d.topic), produced.badIds);
      const { ids } = await tableOrderIds(d.warehouse);
      assert.equal(new Set(ids).size, ids.length, 'no order twice');
      assert.equal(ids.length, expected.size, 'every valid order once');
    });
  });
});
