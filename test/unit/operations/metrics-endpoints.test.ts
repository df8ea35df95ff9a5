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
