/**
 * Active/standby on DynamoDB (moto): two `run.js` processes of one job; kill -9 the active one;
 * the standby takes over within the lease timeout, restores from the HA pointer and finishes.
 * The output table (S3 Tables on moto, read by pyiceberg) holds every id exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killAll, type JobProcess } from './job-process.js';
import { assertExactlyOnce, committedCheckpoints, createScenario, readOutput } from './failover-scenario.js';
import { readyStatus, startActiveAndStandby } from './active-standby-pair.js';

const COUNT = 8000;
const LEASE_TTL_MS = 3000;
/** The standby polls every min(1 s, ttl/5); its process needs a moment to log. */
const TAKEOVER_SLACK_MS = 1500;

test('kill -9 of the active instance: the standby takes over within the lease timeout; no loss, no duplicate', async (t) => {
  const scenario = await createScenario('failover', { ha: true });
  const procs: JobProcess[] = [];
  t.after(async () => {
    await killAll(procs);
    scenario.dispose();
  });
  const env = { GENERATOR_COUNT: String(COUNT), GENERATOR_RATE: '1000', CHECKPOINT_INTERVAL_MS: '500', LEASE_TTL_MS: String(LEASE_TTL_MS) };
  const { active, standby, activePort } = await startActiveAndStandby(scenario, { active: env, standby: env }, procs);

  const committed = Number((await active.waitForMsg('committed Iceberg snapshot', 30_000, (l) => Number(l.checkpoint) >= 2)).checkpoint);
  assert.equal(await readyStatus(activePort), 200, 'the active instance is ready');
  active.signal('SIGKILL');
  const killedAt = Date.now();
  assert.equal((await active.waitForExit(10_000)).signal, 'SIGKILL');
  const lastOfActive = Math.max(...active.logged('checkpoint complete').map((l) => Number(l.checkpoint)));

  const acquired = await standby.waitForMsg('lease acquired', LEASE_TTL_MS + 10_000);
  const takeoverMs = Number(acquired.time) - killedAt;
  assert.ok(takeoverMs <= LEASE_TTL_MS + TAKEOVER_SLACK_MS, `takeover took ${takeoverMs} ms (lease ${LEASE_TTL_MS} ms)`);
  assert.equal(acquired.fencingToken, '2', 'the new holder has the next fencing token');
  const restored = await standby.waitForMsg('restored', 20_000, (l) => l.checkpoint !== undefined);
  // The HA pointer: the active's last published checkpoint — at least the one it committed; a checkpoint
  // completed a moment before the kill may not have been published yet.
  assert.ok(Number(restored.checkpoint) >= committed && Number(restored.checkpoint) <= lastOfActive, `restored ${restored.checkpoint}; active committed ${committed}, completed up to ${lastOfActive}`);

  const exit = await standby.waitForExit(60_000);
  assert.deepEqual(exit, { code: 0, signal: null }, standby.tail());

  const read = await readOutput(scenario);
  assertExactlyOnce(read, COUNT);
  const tokens = committedCheckpoints(read).map((c) => c.fencingToken);
  assert.ok(tokens.includes(1n) && tokens.includes(2n), `both holders committed: tokens ${tokens}`);
  assert.deepEqual(tokens, [...tokens].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'fencing tokens never go back in the table history');
  t.diagnostic(`takeover after ${takeoverMs} ms (lease ${LEASE_TTL_MS} ms); restored checkpoint ${restored.checkpoint}; commits by token: ${tokens.join(',')}`);
});
