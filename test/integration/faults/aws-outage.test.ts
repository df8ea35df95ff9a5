/**
 * A real `run.js` process whose S3 traffic (checkpoints and Parquet data files, to moto), or its
 * DynamoDB traffic (HA lease and checkpoint pointer), goes through the repo's fault proxy: S3 refusing connections for 10 s in the middle of the run used
 * to make the job exit 1 ("after 5 attempts" → "sink failed"), and a request accepted and never
 * answered hung it for ever. Now the request timeouts end the hung attempts, the shared retry
 * deadline rides the outage out, and the output table holds every id exactly once. The DynamoDB
 * outage outlasts the lease (6 s) on purpose: commits pause past its local expiry and resume once
 * the store confirms the same lease again (it used to end the job with LeaseLostError whenever the
 * outage began more than ~4 s after a renewal). Input that ends during such an outage makes the
 * final checkpoint wait for the lease to be confirmed again (it used to fail the stop: exit 1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaultProxy } from '../../chaos/fault-proxy.js';
import { fixtureJobPath, JobProcess, killAll } from '../ha-failover/job-process.js';
import { assertExactlyOnce, createScenario, readOutput } from '../ha-failover/failover-scenario.js';

// Generated at GENERATOR_RATE per subtask: with two subtasks 16,000 take ~20 s, so the input outlasts
// the 10 s outage and the lease's confirmation after it (with 10,000 it could end as the outage did,
// and the stop's final checkpoint then met an unconfirmed lease).
const COUNT = 16_000;

const CASES = [
  { service: 'S3', fault: 'refuse' },
  { service: 'S3', fault: 'blackhole' },
  { service: 'DynamoDB', fault: 'refuse' },
] as const;

for (const { service, fault } of CASES) {
test(`${service} ${fault === 'refuse' ? 'refusing connections' : 'accepting requests and never answering'} for 10 s mid-run: the job keeps running and finishes exactly once`, async (t) => {
  const scenario = await createScenario('outage', { ha: service === 'DynamoDB' });
  const moto = new URL(process.env.AWS_ENDPOINT_URL!);
  const proxy = await FaultProxy.start(`${moto.hostname}:${moto.port}`);
  let proc: JobProcess | undefined;
  t.after(async () => {
    await killAll([proc]);
    await proxy.close();
    scenario.dispose();
  });
  proc = new JobProcess(
    'outage',
    fixtureJobPath('sequence'),
    scenario.env({ GENERATOR_COUNT: String(COUNT), GENERATOR_RATE: '400', CHECKPOINT_INTERVAL_MS: '500', [`AWS_ENDPOINT_URL_${service === 'S3' ? 'S3' : 'DYNAMODB'}`]: proxy.endpoint, CHECKPOINT_TOLERABLE_FAILURES: '30', REQUEST_TIMEOUT_MS: '2000', SOCKET_IDLE_TIMEOUT_MS: '2000', ...(service === 'DynamoDB' ? { LEASE_TTL_MS: '6000' } : {}) }),
  );
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
  const hit = ['S3 request failed; retrying', 'DynamoDB request failed; retrying', 'lease renewal failed; retrying', 'checkpoint failed'].reduce((n, msg) => n + proc!.logged(msg).length, 0);
  assert.ok(hit > 0, `the outage reached the job (retries or failed checkpoints logged)\n${proc.tail()}`);
  if (service === 'DynamoDB') {
    assert.ok(proc.logged('lease confirmed again by the store; commits resume').length > 0, `the lease expired locally during the outage and was confirmed again after it\n${proc.tail()}`);
    assert.equal(proc.logged('lease lost').length, 0, `nobody took the lease over, so it was never lost\n${proc.tail()}`);
  }
  assertExactlyOnce(await readOutput(scenario), COUNT);
});
}

test('input that ends during a DynamoDB outage longer than the lease: the final checkpoint waits for the lease and the job finishes exactly once', async (t) => {
  const scenario = await createScenario('outage-end', { ha: true });
  const moto = new URL(process.env.AWS_ENDPOINT_URL!);
  const proxy = await FaultProxy.start(`${moto.hostname}:${moto.port}`);
  let proc: JobProcess | undefined;
  t.after(async () => {
    await killAll([proc]);
    await proxy.close();
    scenario.dispose();
  });
  // ~5 s of input at 400 records/s in each of two subtasks: it ends inside the outage below.
  const count = 4_000;
  proc = new JobProcess(
    'outage-end',
    fixtureJobPath('sequence'),
    scenario.env({ GENERATOR_COUNT: String(count), GENERATOR_RATE: '400', PARALLELISM: '2', CHECKPOINT_INTERVAL_MS: '500', AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint, CHECKPOINT_TOLERABLE_FAILURES: '30', REQUEST_TIMEOUT_MS: '2000', LEASE_TTL_MS: '6000' }),
  );
  await proc.waitForMsg('checkpoint complete', 60_000);
  await proxy.set({ kind: 'refuse' });
  // The outage lasts until the input ended and the stop's final checkpoint met the unconfirmed
  // lease (within the lease's 6 s); the job used to exit 1 there ("the final checkpoint of the
  // graceful stop failed").
  await proc.waitForMsg('the final checkpoint waits for the HA store to confirm the lease', 60_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(proc.exitStatus, undefined, `the job waits for the lease instead of exiting\n${proc.tail()}`);
  await proxy.set({ kind: 'pass' });
  const exit = await proc.waitForExit(60_000);
  assert.deepEqual(exit, { code: 0, signal: null }, `the job should finish cleanly once the lease is confirmed\n${proc.tail()}`);
  assert.ok(proc.logged('lease confirmed; the final checkpoint goes on').length > 0, proc.tail());
  assert.equal(proc.logged('lease lost').length, 0, `nobody took the lease over\n${proc.tail()}`);
  assertExactlyOnce(await readOutput(scenario), count);
});
