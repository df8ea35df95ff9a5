/**
 * A real `run.js` process whose S3 traffic (checkpoints and Parquet data files, to moto), or its
 * DynamoDB traffic (HA lease and checkpoint pointer), goes through the repo's fault proxy: S3 refusing connections for 10 s in the middle of the run used
 * to make the job exit 1 ("after 5 attempts" → "sink failed"), and a request accepted and never
 * answered hung it for ever. Now the request timeouts end the hung attempts, the shared retry
 * deadline rides the outage out, and the output table holds every id exactly once. The DynamoDB
 * outage outlasts the lease (6 s) on purpose: commits pause past its local expiry and resume once
 * the store confirms the same lease again (it used to end the job with LeaseLostError whenever the
 * outage began more than ~4 s after a renewal). A graceful stop during such an outage makes the
 * final checkpoint wait for the lease to be confirmed again (it used to fail the stop: exit 1), and
 * keeps publishing its HA pointer past one call's retry deadline (that also failed the stop).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { FaultProxy } from '../../chaos/fault-proxy.js';
import { fixtureJobPath, JobProcess, killAll } from '../ha-failover/job-process.js';
import { assertExactlyOnce, createScenario, readOutput, type FailoverScenario } from '../ha-failover/failover-scenario.js';

// Generated at GENERATOR_RATE per subtask: with two subtasks 16,000 take ~20 s, so the input outlasts
// the 10 s outage and the lease's confirmation after it (with 10,000 it could end as the outage did,
// and the stop's final checkpoint then met an unconfirmed lease).
const COUNT = 16_000;

/**
 * A scenario (HA on DynamoDB or not) whose job runs of the `sequence` fixture reach moto through a
 * fault proxy (`settings` get the proxy's endpoint, to point S3 or DynamoDB at it); the processes,
 * proxy and scenario are cleaned up after the test.
 */
async function behindProxy(t: TestContext, name: string, ha: boolean): Promise<{ scenario: FailoverScenario; proxy: FaultProxy; start: (settings: (endpoint: string) => Record<string, string>) => JobProcess }> {
  const scenario = await createScenario(name, { ha });
  const moto = new URL(process.env.AWS_ENDPOINT_URL!);
  const proxy = await FaultProxy.start(`${moto.hostname}:${moto.port}`);
  const procs: JobProcess[] = [];
  t.after(async () => {
    await killAll(procs);
    await proxy.close();
    scenario.dispose();
  });
  const start = (settings: (endpoint: string) => Record<string, string>) => {
    const proc = new JobProcess(name, fixtureJobPath('sequence'), scenario.env(settings(proxy.endpoint)));
    procs.push(proc);
    return proc;
  };
  return { scenario, proxy, start };
}

const CASES = [
  { service: 'S3', fault: 'refuse' },
  { service: 'S3', fault: 'blackhole' },
  { service: 'DynamoDB', fault: 'refuse' },
] as const;

for (const { service, fault } of CASES) {
test(`${service} ${fault === 'refuse' ? 'refusing connections' : 'accepting requests and never answering'} for 10 s mid-run: the job keeps running and finishes exactly once`, async (t) => {
  const { scenario, proxy, start } = await behindProxy(t, 'outage', service === 'DynamoDB');
  const proc = start((endpoint) => ({
    GENERATOR_COUNT: String(COUNT), GENERATOR_RATE: '400', CHECKPOINT_INTERVAL_MS: '500', [`AWS_ENDPOINT_URL_${service === 'S3' ? 'S3' : 'DYNAMODB'}`]: endpoint, CHECKPOINT_TOLERABLE_FAILURES: '30', REQUEST_TIMEOUT_MS: '2000', SOCKET_IDLE_TIMEOUT_MS: '2000', ...(service === 'DynamoDB' ? { LEASE_TTL_MS: '6000' } : {}),
  }));
  await proc.waitForMsg('checkpoint complete', 60_000);
  const accepted = proxy.accepted;
  assert.ok(accepted > 0, `${service} traffic goes through the proxy`);
  await proxy.set({ kind: fault });
  const during = await Promise.race([proc.exited, new Promise((resolve) => setTimeout(() => resolve('running'), 10_000))]);
  assert.equal(during, 'running', `the job exited during the outage\n${proc.tail()}`);
  await proxy.set({ kind: 'pass' });
  const exit = await proc.waitForExit(120_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `the job should finish cleanly after the outage\n${proc.tail()}`);
  assert.ok(proxy.accepted > accepted, `${service} traffic resumed through the proxy`);
  const hit = ['S3 request failed; retrying', 'DynamoDB request failed; retrying', 'lease renewal failed; retrying', 'checkpoint failed'].reduce((n, msg) => n + proc.logged(msg).length, 0);
  assert.ok(hit > 0, `the outage reached the job (retries or failed checkpoints logged)\n${proc.tail()}`);
  if (service === 'DynamoDB') {
    assert.ok(proc.logged('lease confirmed again by the store; commits resume').length > 0, `the lease expired locally during the outage and was confirmed again after it\n${proc.tail()}`);
    assert.equal(proc.logged('lease lost').length, 0, `nobody took the lease over, so it was never lost\n${proc.tail()}`);
  }
  assertExactlyOnce(await readOutput(scenario), COUNT);
});
}

test('a graceful stop during a DynamoDB outage longer than the lease: the final checkpoint waits for the lease, the job exits 0, and a restart finishes exactly once', async (t) => {
  const { scenario, proxy, start } = await behindProxy(t, 'outage-stop', true);
  const settings = (endpoint: string) => ({ GENERATOR_COUNT: String(COUNT), GENERATOR_RATE: '400', PARALLELISM: '2', CHECKPOINT_INTERVAL_MS: '500', AWS_ENDPOINT_URL_DYNAMODB: endpoint, CHECKPOINT_TOLERABLE_FAILURES: '100', REQUEST_TIMEOUT_MS: '2000', LEASE_TTL_MS: '6000' });
  const proc = start(settings);
  await proc.waitForMsg('checkpoint complete', 60_000);
  await proxy.set({ kind: 'refuse' });
  // A periodic checkpoint fails on the unconfirmed lease (within the lease's 6 s): then stop. The
  // stop's final checkpoint used to fail the same way, and the job exited 1.
  await proc.waitForMsg('checkpoint failed', 60_000, (line) => typeof line.err === 'string' && line.err.includes('without a confirmed renewal'));
  proc.signal('SIGTERM');
  await proc.waitForMsg('the final checkpoint waits for the HA store to confirm the lease', 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(proc.exitStatus, undefined, `the job waits for the lease instead of exiting\n${proc.tail()}`);
  await proxy.set({ kind: 'pass' });
  const exit = await proc.waitForExit(60_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `the job should stop cleanly once the lease is confirmed\n${proc.tail()}`);
  assert.ok(proc.logged('lease confirmed; the final checkpoint goes on').length > 0, proc.tail());
  assert.equal(proc.logged('lease lost').length, 0, `nobody took the lease over\n${proc.tail()}`);
  const restart = start(settings);
  const restarted = await restart.waitForExit(120_000);
  assert.deepEqual(restarted, { code: 0, signal: null }, `the restart should finish the input\n${restart.tail()}`);
  assertExactlyOnce(await readOutput(scenario), COUNT);
});

test('a graceful stop during a DynamoDB outage that outlasts one call\'s retry deadline: the final checkpoint\'s HA pointer is published once the store answers again, the job exits 0, and a restart finishes exactly once', async (t) => {
  const { scenario, proxy, start } = await behindProxy(t, 'outage-stop-pointer', true);
  // RETRY_DEADLINE_MS 5 s: each publish attempt gives up long before the outage ends.
  const settings = (endpoint: string) => ({ GENERATOR_COUNT: String(COUNT), GENERATOR_RATE: '400', PARALLELISM: '2', CHECKPOINT_INTERVAL_MS: '500', AWS_ENDPOINT_URL_DYNAMODB: endpoint, CHECKPOINT_TOLERABLE_FAILURES: '100', REQUEST_TIMEOUT_MS: '2000', LEASE_TTL_MS: '6000', RETRY_DEADLINE_MS: '5000', STOP_TIMEOUT_MS: '90000' });
  const proc = start(settings);
  await proc.waitForMsg('checkpoint complete', 60_000);
  await proxy.set({ kind: 'refuse' });
  proc.signal('SIGTERM');
  await proc.waitForMsg('the final checkpoint is written but could not be made durable (HA pointer); trying again until the stop times out (STOP_TIMEOUT_MS)', 60_000);
  // Past another attempt's deadline: the stop used to fail here (exit 1, the next start replaying from the previous checkpoint).
  await new Promise((resolve) => setTimeout(resolve, 7_000));
  assert.equal(proc.exitStatus, undefined, `the job keeps trying instead of exiting\n${proc.tail()}`);
  await proxy.set({ kind: 'pass' });
  const exit = await proc.waitForExit(60_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `the job should stop cleanly once the store answers\n${proc.tail()}`);
  assert.ok(proc.logged('the final checkpoint is durable; the stop goes on').length > 0, proc.tail());
  const restart = start(settings);
  const restarted = await restart.waitForExit(120_000);
  assert.deepEqual(restarted, { code: 0, signal: null }, `the restart should finish the input\n${restart.tail()}`);
  assertExactlyOnce(await readOutput(scenario), COUNT);
});
