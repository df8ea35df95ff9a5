/**
 * Real `run.js` processes checkpointing to S3 (moto): kill -9 mid-run and restart from the latest
 * checkpoint, retention of exactly CHECKPOINT_RETAIN completed checkpoints, and restarts that skip
 * a newest checkpoint whose `_metadata` is missing or corrupt. The output table (S3 Tables on
 * moto, read by pyiceberg) must hold every id exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { fixtureJobPath, JobProcess, killAll, type LogLine } from './job-process.js';
import { assertExactlyOnce, committedCheckpoints, createScenario, listCheckpoints, readOutput, type FailoverScenario } from './failover-scenario.js';

const COUNT = 8000;
const START_MS = 30_000;
const RUN_MS = 60_000;
/** Common settings: a short lease so that a restart after kill -9 need not wait 15 s for the dead holder's lease. */
const BASE = { GENERATOR_COUNT: String(COUNT), GENERATOR_RATE: '1000', CHECKPOINT_INTERVAL_MS: '500', LEASE_TTL_MS: '2000' };
/**
 * The killed run commits slowly: the coordinator publishes the HA pointer and then commits (after
 * this delay) before it schedules the next checkpoint, so a kill shortly after "checkpoint
 * complete" lands after the pointer names the checkpoint and before its Iceberg commit.
 */
const SLOW_COMMITS = { SEQUENCE_COMMIT_DELAY_MS: '1500' };

function checkpointOf(line: LogLine): number {
  return Number(line.checkpoint);
}

/** Starts the sequence job, waits until checkpoint `minCheckpoint` completed, then kill -9 (before that checkpoint's delayed commit). */
async function runUntilKilled(
  scenario: FailoverScenario,
  label: string,
  env: Record<string, string>,
  minCheckpoint: number,
): Promise<{ killedAfter: number; proc: JobProcess }> {
  const proc = new JobProcess(label, fixtureJobPath('sequence'), scenario.env(env));
  try {
    const line = await proc.waitForMsg('checkpoint complete', START_MS, (l) => checkpointOf(l) >= minCheckpoint);
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.signal('SIGKILL');
    const exit = await proc.waitForExit(10_000);
    assert.equal(exit.signal, 'SIGKILL', `${label} should die from SIGKILL, not exit on its own: ${JSON.stringify(exit)}`);
    return { killedAfter: checkpointOf(line), proc };
  } catch (error) {
    await proc.kill();
    throw error;
  }
}

async function runToCompletion(scenario: FailoverScenario, label: string, env: Record<string, string>): Promise<JobProcess> {
  const proc = new JobProcess(label, fixtureJobPath('sequence'), scenario.env(env));
  try {
    const exit = await proc.waitForExit(RUN_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, `${label} should finish cleanly\n${proc.tail()}`);
    return proc;
  } finally {
    await proc.kill();
  }
}

test('kill -9 mid-run: the restart restores the latest S3 checkpoint, output exactly once, retention keeps exactly CHECKPOINT_RETAIN', async (t) => {
  const scenario = await createScenario('s3ckpt', { ha: false });
  const procs: JobProcess[] = [];
  t.after(async () => {
    await killAll(procs);
    scenario.dispose();
  });
  const env = { ...BASE, CHECKPOINT_RETAIN: '2' };

  const first = await runUntilKilled(scenario, 'run-1', { ...env, ...SLOW_COMMITS }, 2);
  procs.push(first.proc);
  const beforeRestart = await listCheckpoints(scenario);
  const latest = Math.max(...beforeRestart.withMetadata);
  assert.equal(latest, first.killedAfter, `S3 should hold checkpoint ${first.killedAfter} (completed before the kill) as the newest; has ${beforeRestart.withMetadata}`);
  const committedBefore = Math.max(0, ...committedCheckpoints(await readOutput(scenario)).map((c) => c.checkpointId));
  assert.ok(committedBefore < latest, `the kill should land before checkpoint ${latest} was committed (table has ${committedBefore})`);

  const second = await runToCompletion(scenario, 'run-2', env);
  procs.push(second);
  const restored = second.logged('restored').filter((l) => l.checkpoint !== undefined);
  assert.equal(restored.length, 1, `the restart should restore once\n${second.tail()}`);
  assert.equal(checkpointOf(restored[0]!), latest, 'restored from the latest completed checkpoint in S3');
  const laterIds = second.logged('checkpoint complete').map(checkpointOf);
  assert.ok(laterIds.length > 0 && Math.min(...laterIds) > latest, `new checkpoint ids continue above ${latest}: ${laterIds}`);

  const read = await readOutput(scenario);
  assertExactlyOnce(read, COUNT);
  const commits = committedCheckpoints(read);
  assert.ok(commits.length >= 2, 'both runs committed snapshots');

  // Pruning runs after each checkpoint; the final one's pruning may still be in flight at exit, so wait a little.
  const lastId = Math.max(...laterIds);
  let after = await listCheckpoints(scenario);
  for (let i = 0; i < 20 && after.withMetadata.length !== 2; i++) {
    await new Promise((r) => setTimeout(r, 250));
    after = await listCheckpoints(scenario);
  }
  assert.deepEqual(after.withMetadata, [lastId - 1, lastId], `exactly the 2 newest completed checkpoints stay in S3 (all chk-* folders: ${after.all})`);
  t.diagnostic(`killed after checkpoint ${first.killedAfter}; restored ${latest}; last ${lastId}; chk folders left: ${after.all.join(',')}`);
});

for (const damage of ['missing', 'corrupt'] as const) {
  test(`a newest checkpoint whose _metadata is ${damage} is skipped with a warning naming it; the previous one is restored; output exactly once`, async (t) => {
    const scenario = await createScenario(`dmg-${damage}`, { ha: false });
    const procs: JobProcess[] = [];
    t.after(async () => {
      await killAll(procs);
      scenario.dispose();
    });
    const env = { ...BASE, CHECKPOINT_RETAIN: '5' };

    // Kill right after a checkpoint completed, before its Iceberg commit: a checkpoint whose
    // `_metadata` is then damaged (a torn or lost write) was never committed downstream, so the
    // previous one is a consistent restore point.
    const run = await runUntilKilled(scenario, 'run-1', { ...env, ...SLOW_COMMITS }, 2);
    procs.push(run.proc);
    const newest = Math.max(...(await listCheckpoints(scenario)).withMetadata);
    assert.equal(newest, run.killedAfter);
    const committedUpTo = Math.max(0, ...committedCheckpoints(await readOutput(scenario)).map((c) => c.checkpointId));
    assert.ok(committedUpTo < newest, `the kill should land before checkpoint ${newest} was committed (table has ${committedUpTo})`);
    const listed = await listCheckpoints(scenario);
    const previous = Math.max(...listed.withMetadata.filter((id) => id < newest));
    const key = `${scenario.checkpointPrefix}/${scenario.jobName}/chk-${newest}/_metadata`;
    if (damage === 'missing') {
      await scenario.s3.send(new DeleteObjectCommand({ Bucket: scenario.checkpointBucket, Key: key }));
    } else {
      const original = await scenario.s3.send(new GetObjectCommand({ Bucket: scenario.checkpointBucket, Key: key }));
      const bytes = await original.Body!.transformToByteArray();
      // A torn write: the first half of the object.
      await scenario.s3.send(new PutObjectCommand({ Bucket: scenario.checkpointBucket, Key: key, Body: bytes.subarray(0, Math.floor(bytes.length / 2)) }));
    }

    const restart = await runToCompletion(scenario, 'restart', env);
    procs.push(restart);
    const warnings = restart.lines.filter((l) => l.level === 40 && Number(l.checkpoint) === newest);
    assert.ok(warnings.length >= 1, `a warning should name checkpoint ${newest}\n${restart.tail(40)}`);
    const restored = restart.logged('restored').filter((l) => l.checkpoint !== undefined);
    assert.equal(restored.length, 1, restart.tail());
    assert.equal(checkpointOf(restored[0]!), previous, `restores the previous complete checkpoint ${previous}`);

    assertExactlyOnce(await readOutput(scenario), COUNT);
    t.diagnostic(`damaged chk-${newest} (${damage}); table had commits up to ${committedUpTo}; restored ${previous}; warnings: ${warnings.map((w) => w.msg).join(' | ')}`);
  });
}
