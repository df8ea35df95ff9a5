/**
 * /healthz and /readyz of `run.js jobs/orders` as a load balancer or Kubernetes sees them:
 * alive while the process runs; ready only while restored and consuming — not as a standby
 * waiting for the HA lease, not while stopping — and ready again on the standby once it took
 * over and restored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureServices } from '../../helpers/services.js';
import { jobArgs, jobEnvironment, newDeployment } from './support/job-env.js';
import { JobProcess, createTopic, freePort, httpGet, produceOrders, scrape, waitFor } from './support/job-harness.js';

const JOB = { job: 'orders' };

describe('health endpoints', () => {
  let brokers: string[];
  const running: JobProcess[] = [];

  before(async () => {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
  });

  after(async () => {
    for (const job of running) await job.kill();
  });

  it('/healthz 200 while running; /readyz 200 only when restored and consuming (standby and stopping are not ready)', async () => {
    const d = newDeployment(brokers, 'opsx-health');
    await createTopic(brokers, d.topic, 3);
    const production = produceOrders(brokers, d.topic, { count: 20_000, seed: 31, rate: 2_000, partitions: 3 });
    production.catch(() => undefined);

    const portA = await freePort();
    const active = new JobProcess(jobArgs(portA, ['--lease-ttl-ms', '2000']), jobEnvironment(d));
    running.push(active);
    const readyAfterMs = await waitFor('instance A ready', 60_000, async () => ((await httpGet(portA, '/readyz')).status === 200 ? performance.now() : undefined), 50);
    assert.equal((await httpGet(portA, '/healthz')).status, 200);
    const a = (await scrape(portA))!;
    assert.equal(a.sum('streamline_job_ready', JOB), 1);
    assert.equal(a.sum('streamline_ha_lease_held', JOB), 1);
    assert.ok(readyAfterMs > 0);

    // A second instance of the same deployment is a standby: alive, not ready, no lease.
    const portB = await freePort();
    const standby = new JobProcess(jobArgs(portB, ['--lease-ttl-ms', '2000']), jobEnvironment(d));
    running.push(standby);
    await waitFor('instance B alive', 30_000, async () => ((await httpGet(portB, '/healthz')).status === 200 ? true : undefined), 50);
    for (let i = 0; i < 6; i++) {
      assert.equal((await httpGet(portB, '/readyz')).status, 503, 'standby is not ready');
      assert.equal((await httpGet(portA, '/readyz')).status, 200, 'the active instance stays ready');
      await new Promise((r) => setTimeout(r, 500));
    }
    const b0 = (await scrape(portB))!;
    assert.notEqual(b0.sum('streamline_ha_lease_held', JOB), 1, 'standby holds no lease');
    assert.notEqual(b0.sum('streamline_job_ready', JOB), 1);

    // Stop A: it stops being ready at once and never becomes ready again; B takes over, restores, becomes ready.
    active.signal('SIGTERM');
    const statusesA: number[] = [];
    for (;;) {
      const { status } = await httpGet(portA, '/readyz');
      statusesA.push(status);
      if (status === 0 || active.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const firstNotReady = statusesA.findIndex((s) => s !== 200);
    assert.ok(statusesA.slice(firstNotReady).every((s) => s !== 200), `A never ready again once stopping: ${statusesA.join(',')}`);
    const exitA = await active.exit(40_000);
    assert.equal(exitA.code, 0, active.tail());

    const takeover = performance.now();
    await waitFor('instance B ready after the takeover', 60_000, async () => ((await httpGet(portB, '/readyz')).status === 200 ? true : undefined), 50);
    const takeoverMs = Math.round(performance.now() - takeover);
    const b1 = (await scrape(portB))!;
    assert.equal(b1.sum('streamline_restores_total', JOB), 1, 'B restored the checkpoint A took when it stopped');
    assert.equal(b1.sum('streamline_ha_lease_held', JOB), 1);
    assert.equal(b1.sum('streamline_job_ready', JOB), 1);
    console.log(`standby ready ${takeoverMs} ms after A exited`);

    standby.signal('SIGTERM');
    const exitB = await standby.exit(40_000);
    assert.equal(exitB.code, 0, standby.tail());
    await production;
  });
});
