/** MAINTAIN_INTERVAL_MS: a pass after a commit once the interval has passed, never after a final checkpoint; failures counted, not thrown. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maintenanceScheduleFromSettings, MaintenanceSchedule } from '../../../src/cli/maintenance-schedule.js';
import { ConfigError } from '../../../src/errors.js';
import { Dataflow } from '../../../src/runtime/graph/dataflow.js';
import { LocalCheckpointStore } from '../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import type { MaintenancePassResult } from '../../../src/runtime/maintenance/maintenance-pass.js';
import { MetricsRegistry } from '../../../src/runtime/metrics-registry.js';
import { ManualClock } from '../../../src/runtime/time/manual-clock.js';

const OK: MaintenancePassResult = { discardedScopes: [], keptScopes: [], pendingCommittables: {}, outputs: [{ output: 'sink.t', counts: {}, notes: [], failures: [] }] };

async function runs(metrics: MetricsRegistry): Promise<Record<string, number>> {
  return Object.fromEntries((await metrics.maintenanceRuns.get()).values.map((v) => [String(v.labels.outcome), v.value]));
}

test('a pass runs after a commit once the interval has passed since the start or the last pass, never after a final checkpoint', async () => {
  const clock = new ManualClock();
  const metrics = new MetricsRegistry({ defaultMetrics: false, clock });
  let passes = 0;
  let outcome: MaintenancePassResult | Error = OK;
  const schedule = new MaintenanceSchedule({ jobName: 'j', intervalMs: 1000, clock, logger: silentLogger(), metrics, pass: async () => {
    passes++;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  } });
  await schedule.afterCommit(1, false);
  assert.equal(passes, 0, 'not due right after the start');
  await clock.advance(1000);
  await schedule.afterCommit(2, true);
  assert.equal(passes, 0, 'never after the final checkpoint of a run');
  await schedule.afterCommit(3, false);
  assert.equal(passes, 1);
  await clock.advance(999);
  await schedule.afterCommit(4, false);
  assert.equal(passes, 1, 'the interval counts from the last pass');
  await clock.advance(1);
  outcome = { ...OK, outputs: [{ output: 'sink.t', counts: {}, notes: [], failures: ['compact: boom'] }] };
  await schedule.afterCommit(5, false);
  await clock.advance(1000);
  outcome = new Error('store unreachable');
  await schedule.afterCommit(6, false); // does not throw: the job goes on
  assert.equal(passes, 3);
  assert.deepEqual(await runs(metrics), { ok: 1, failed: 2 });
});

test('MAINTAIN_INTERVAL_MS unset or 0 schedules nothing; a bad value or safety age fails naming the setting', () => {
  const clock = new ManualClock();
  const ctx = { flow: new Dataflow('j'), store: new LocalCheckpointStore('/nonexistent'), clock, logger: silentLogger(), metrics: new MetricsRegistry({ defaultMetrics: false, clock }) };
  assert.equal(maintenanceScheduleFromSettings({}, ctx), undefined);
  assert.equal(maintenanceScheduleFromSettings({ MAINTAIN_INTERVAL_MS: '0' }, ctx), undefined);
  assert.ok(maintenanceScheduleFromSettings({ MAINTAIN_INTERVAL_MS: '60000' }, ctx) instanceof MaintenanceSchedule);
  assert.throws(() => maintenanceScheduleFromSettings({ MAINTAIN_INTERVAL_MS: 'hourly' }, ctx), (e: unknown) => e instanceof ConfigError && /MAINTAIN_INTERVAL_MS/.test(e.message));
  assert.throws(() => maintenanceScheduleFromSettings({ MAINTAIN_INTERVAL_MS: '1000', MAINTAIN_ORPHAN_MIN_AGE_MS: '1000' }, ctx), (e: unknown) => e instanceof ConfigError && /MAINTAIN_ORPHAN_MIN_AGE_MS/.test(e.message));
});
