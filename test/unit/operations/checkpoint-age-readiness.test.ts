import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CheckpointAgeReadiness } from '../../../src/runtime/checkpoint-age-readiness.js';
import { MetricsRegistry } from '../../../src/runtime/metrics-registry.js';
import { startMetricsServer } from '../../../src/runtime/metrics-server.js';
import { ManualClock } from '../../../src/runtime/time/manual-clock.js';

async function readyz(port: number): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: await response.text() };
}

test('/readyz turns 503 when checkpoints stop completing for longer than READY_MAX_CHECKPOINT_AGE_MS, and 200 again after one completes', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const metrics = new MetricsRegistry({ clock });
  metrics.initJob('j');
  const rule = new CheckpointAgeReadiness(30_000, metrics, clock);
  const server = await startMetricsServer(metrics, { alive: () => true, ready: () => true, notReadyReason: () => rule.staleReason() }, 0, '127.0.0.1');
  const port = (server.address() as AddressInfo).port;
  try {
    // A standby waited long before it took over: the age counts from when its run became ready.
    await clock.advance(600_000);
    metrics.ready.set({ job: 'j' }, 1);
    rule.running(true);
    assert.equal((await readyz(port)).status, 200);
    await clock.advance(30_000);
    assert.equal((await readyz(port)).status, 200, 'exactly the maximum age is still ready');
    await clock.advance(1_000);
    const stale = await readyz(port);
    assert.equal(stale.status, 503);
    assert.equal(stale.body, 'not ready: no checkpoint completed for 31 s (READY_MAX_CHECKPOINT_AGE_MS=30000)\n');
    // A checkpoint completes (the coordinator sets this gauge): ready again, until the next stall.
    metrics.lastCheckpointTimestamp.set({ job: 'j' }, clock.now() / 1000);
    assert.equal((await readyz(port)).status, 200);
    await clock.advance(45_000);
    assert.equal((await readyz(port)).status, 503);
    // The run ended and a new one starts: it gets its own grace period.
    rule.running(false);
    rule.running(true);
    assert.equal((await readyz(port)).status, 200);
  } finally {
    server.close();
  }
});

test('a maximum age of 0 turns the rule off', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const rule = new CheckpointAgeReadiness(0, new MetricsRegistry({ clock }), clock);
  rule.running(true);
  await clock.advance(10 * 24 * 3600_000);
  assert.equal(await rule.staleReason(), undefined);
});
