import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/runtime/time/manual-clock.js';
import { MetricsRegistry } from '../../../src/runtime/metrics-registry.js';
import { startMetricsServer } from '../../../src/runtime/metrics-server.js';

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics registry and endpoints', () => {
  it('/readyz needs both the process flag and streamline_job_ready; /healthz only liveness', async () => {
    const metrics = new MetricsRegistry();
    let processReady = true;
    const server = await startMetricsServer(metrics, { alive: () => true, ready: () => processReady }, 0, '127.0.0.1');
    const port = (server.address() as AddressInfo).port;
    try {
      assert.equal((await get(port, '/healthz')).status, 200);
      assert.equal((await get(port, '/readyz')).status, 503, 'restoring: the runner has not set job_ready');
      metrics.ready.set({ job: 'j' }, 1);
      assert.equal((await get(port, '/readyz')).status, 200);
      processReady = false;
      assert.equal((await get(port, '/readyz')).status, 503, 'stopping');
      processReady = true;
      metrics.ready.set({ job: 'j' }, 0);
      assert.equal((await get(port, '/readyz')).status, 503, 'run ended');
      assert.equal((await get(port, '/nope')).status, 404);
      const scraped = await get(port, '/metrics');
      assert.equal(scraped.status, 200);
      assert.match(scraped.body, /# TYPE streamline_records_in_total counter/);
    } finally {
      server.close();
    }
  });

  it('computes checkpoint age and watermark lag at scrape time', async () => {
    const clock = new ManualClock(1_000_000);
    const now = clock.now();
    const metrics = new MetricsRegistry({ clock });
    metrics.initJob('j');
    const labels = { job: 'j', operator: 'j.input' };
    metrics.observeWatermark(labels, now - 5_000);
    metrics.lastCheckpointTimestamp.set({ job: 'j' }, (now - 2_000) / 1000);
    let text = await metrics.registry.metrics();
    assert.equal(value(text, 'streamline_watermark_lag_seconds{job="j",operator="j.input"}'), 5);
    assert.equal(value(text, 'streamline_checkpoint_last_completed_age_seconds{job="j"}'), 2);
    assert.equal(value(text, 'streamline_checkpoints_failed_total{job="j"}'), 0, 'initJob starts counters at 0');
    assert.equal(value(text, 'streamline_fenced_commits_total{job="j",kind="iceberg"}'), 0);

    await clock.advance(10_000); // nothing new: both keep growing
    text = await metrics.registry.metrics();
    assert.equal(value(text, 'streamline_watermark_lag_seconds{job="j",operator="j.input"}'), 15);
    assert.equal(value(text, 'streamline_checkpoint_last_completed_age_seconds{job="j"}'), 12);

    metrics.observeWatermark(labels, Infinity); // end of input
    text = await metrics.registry.metrics();
    assert.equal(value(text, 'streamline_watermark_lag_seconds{job="j",operator="j.input"}'), undefined);
  });
});

describe('metrics of other threads', () => {
  it('sums a remote registry in; when it is removed its counters stay in the totals and its gauges go', async () => {
    const main = new MetricsRegistry();
    const subtask = new MetricsRegistry();
    main.recordsIn.inc({ job: 'j', operator: 'j.map' }, 5);
    subtask.recordsIn.inc({ job: 'j', operator: 'j.map' }, 7);
    subtask.consumerLag.set({ job: 'j', topic: 't', partition: '0' }, 42);
    subtask.busyMeter({ job: 'j', operator: 'j.map' }).ms += 1500;
    const remove = main.addRemote(() => subtask.registry.getMetricsAsJSON());
    let text = await main.render();
    assert.equal(value(text, 'streamline_records_in_total{job="j",operator="j.map"}'), 12);
    assert.equal(value(text, 'streamline_kafka_consumer_lag_records{job="j",topic="t",partition="0"}'), 42);
    assert.equal(value(text, 'streamline_step_busy_seconds_total{job="j",operator="j.map"}'), 1.5);

    await remove();
    subtask.recordsIn.inc({ job: 'j', operator: 'j.map' }, 1000); // the thread is gone: nothing it does counts any more
    text = await main.render();
    assert.equal(value(text, 'streamline_records_in_total{job="j",operator="j.map"}'), 12, 'a counter never goes back when a thread ends');
    assert.equal(value(text, 'streamline_step_busy_seconds_total{job="j",operator="j.map"}'), 1.5);
    assert.equal(value(text, 'streamline_kafka_consumer_lag_records{job="j",topic="t",partition="0"}'), undefined, 'a gauge of an ended thread describes nothing');

    const next = new MetricsRegistry(); // the next run's thread starts from zero
    next.recordsIn.inc({ job: 'j', operator: 'j.map' }, 3);
    main.addRemote(() => next.registry.getMetricsAsJSON());
    const samples = await main.collect();
    const recordsIn = samples.find((m) => m.name === 'streamline_records_in_total')!.values.find((v) => v.labels.operator === 'j.map')!.value;
    assert.equal(recordsIn, 15);
    assert.ok(samples.every((m) => m.name.startsWith('streamline_')), 'collect() leaves the process metrics out');
  });
});
