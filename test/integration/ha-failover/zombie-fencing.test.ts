/**
 * Zombie fencing: the active `run.js` instance is frozen (SIGSTOP) between its checkpoint and the
 * Iceberg commit of that checkpoint, past its lease; the standby takes over (DynamoDB on moto),
 * restores and commits with a higher fencing token. Resumed (SIGCONT), the old instance tries the
 * commit it was in the middle of: the commit is refused and counted in
 * `streamline_fenced_commits_total`, the old instance stops, and the table stays exactly-once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpGet, killAll, metricTotal, type JobProcess } from './job-process.js';
import { assertExactlyOnce, committedCheckpoints, createScenario, readOutput } from './failover-scenario.js';
import { startActiveAndStandby } from './active-standby-pair.js';

/** Long enough that the new holder still runs when the zombie wakes up. */
const COUNT = 15000;
const LEASE_TTL_MS = 3000;

test('SIGSTOP past the lease, takeover, SIGCONT: the zombie\'s commit is refused and counted; output exactly once', async (t) => {
  const scenario = await createScenario('zombie', { ha: true });
  const procs: JobProcess[] = [];
  t.after(async () => {
    await killAll(procs);
    scenario.dispose();
  });
  const env = { GENERATOR_COUNT: String(COUNT), GENERATOR_RATE: '1000', CHECKPOINT_INTERVAL_MS: '500', LEASE_TTL_MS: String(LEASE_TTL_MS) };
  // The active instance commits 1.5 s after each checkpoint completes (a slow catalog), after its
  // lease check: freezing it inside that window leaves it about to commit when it wakes up.
  const { active, standby, activePort } = await startActiveAndStandby(scenario, { active: { ...env, SEQUENCE_COMMIT_DELAY_MS: '1500' }, standby: env }, procs);

  const frozenAt = Number((await active.waitForMsg('checkpoint complete', 30_000, (l) => Number(l.checkpoint) >= 2)).checkpoint);
  await new Promise((r) => setTimeout(r, 300));
  active.signal('SIGSTOP');
  const stoppedAt = Date.now();

  const acquired = await standby.waitForMsg('lease acquired', LEASE_TTL_MS + 10_000);
  assert.equal(acquired.fencingToken, '2');
  const restored = await standby.waitForMsg('restored', 20_000, (l) => l.checkpoint !== undefined);
  assert.equal(Number(restored.checkpoint), frozenAt, 'the standby restores the checkpoint the frozen instance published');
  // The new holder commits (the restored checkpoint's pending files, then its own) before the zombie wakes.
  await standby.waitForMsg('committed Iceberg snapshot', 20_000);
  const beforeResume = committedCheckpoints(await readOutput(scenario));
  assert.ok(beforeResume.some((c) => c.fencingToken === 2n), 'the new holder committed before the zombie resumes');
  t.diagnostic(`frozen ${Date.now() - stoppedAt} ms (lease ${LEASE_TTL_MS} ms)`);

  active.signal('SIGCONT');
  const resumedAt = Date.now();
  // Scrape the zombie's counter until it exits (it fails once it knows it lost the lease).
  const fenced = { iceberg: 0, checkpoint: 0 };
  const scrapeUntil = Date.now() + 15_000;
  while (active.exitStatus === undefined && Date.now() < scrapeUntil) {
    const metrics = await httpGet(activePort, '/metrics');
    if (metrics !== undefined && metrics.status === 200) {
      fenced.iceberg = Math.max(fenced.iceberg, metricTotal(metrics.body, 'streamline_fenced_commits_total', 'kind="iceberg"'));
      fenced.checkpoint = Math.max(fenced.checkpoint, metricTotal(metrics.body, 'streamline_fenced_commits_total', 'kind="checkpoint"'));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const standbyRunningAtResume = standby.exitStatus === undefined;
  const zombieExit = await active.waitForExit(15_000);
  assert.notEqual(zombieExit.code, 0, `the zombie must not finish as if nothing happened\n${active.tail()}`);
  // By its error's class, or (when the zombie resumed after its input ended and only its stop's final
  // checkpoint failed) by the messages of the lease expiry and of the refused commit.
  const lostLease = active.lines.filter((l) => /LeaseLostError|FencedError|lease of '[^']*' \(fencing token \d+\) expired|an instance with fencing token \d+ already committed/.test(l.raw));
  assert.ok(lostLease.length > 0, `the zombie's log shows it lost its lease\n${active.tail()}`);
  const standbyFailures = standby.logged('checkpoint failed').map((l) => `${l.checkpoint}: ${String(l.err)}`);
  const afterResume = active.lines.filter((l) => Number(l.time) >= resumedAt && l.msg !== undefined).map((l) => `${String(l.msg).slice(0, 60)}${l.checkpoint !== undefined ? ` [${String(l.checkpoint)}]` : ''}`);
  t.diagnostic(`zombie exit ${JSON.stringify(zombieExit)}; fenced commits counted ${JSON.stringify(fenced)}; new holder running at resume: ${standbyRunningAtResume}; its failed checkpoints: ${standbyFailures.join(' | ') || 'none'}`);
  t.diagnostic(`zombie after SIGCONT: ${afterResume.join(' / ')}`);
  const exit = await standby.waitForExit(60_000);
  assert.deepEqual(exit, { code: 0, signal: null }, standby.tail());
  const read = await readOutput(scenario);
  assertExactlyOnce(read, COUNT);
  const commits = committedCheckpoints(read);
  const firstOfNew = commits.findIndex((c) => c.fencingToken === 2n);
  assert.deepEqual(
    commits.slice(firstOfNew).filter((c) => c.fencingToken !== 2n),
    [],
    'no snapshot of the old holder after the new holder\'s first commit',
  );
  // The Iceberg commit the zombie was in the middle of (lease checked before the freeze) must be
  // refused by the table's fencing token — not merely skipped — and counted.
  const fencedInLog = active.lines.filter((l) => /FencedError|Refusing to commit/.test(l.raw));
  assert.ok(
    fenced.iceberg >= 1 || fencedInLog.length > 0,
    `the zombie's Iceberg commit is refused as fenced and counted (streamline_fenced_commits_total{kind="iceberg"} scraped ${fenced.iceberg}; FencedError in log: ${fencedInLog.length})\n${active.tail()}`,
  );
});
