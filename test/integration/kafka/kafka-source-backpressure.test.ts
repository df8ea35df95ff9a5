import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { kafkaJsClient } from '../../../src/operators/kafka/kafkajs-client.js';
import { kafkaSource } from '../../../src/operators/kafka/kafka-source.js';
import { KAFKA_CLIENTS, config, context } from './reader-harness.js';

const RECORDS = 1_000_000;

/**
 * Small JSON records, produced in batches with several sends in flight. kafkajs gets
 * superlinearly slow above ~10k messages per send, so batches stay at 4k.
 */
async function produceMany(brokers: string[], topic: string): Promise<void> {
  const client = kafkaJsClient(config(brokers, 'unused'));
  const admin = await client.admin();
  await admin.ensureTopic(topic, 4);
  await admin.disconnect();
  const producer = client.producer();
  await producer.connect();
  const batch = 4_000;
  const inFlight = new Set<Promise<void>>();
  for (let start = 0; start < RECORDS; start += batch) {
    const messages = Array.from({ length: batch }, (_, i) => ({ value: `{"id":${start + i},"v":"abcdefghij"}`, partition: (start / batch) % 4 }));
    const sent: Promise<void> = producer.send(topic, messages).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= 8) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await producer.disconnect();
}

describe('kafka source: backpressure (real broker)', () => {
  let brokers: string[];
  const topic = uniqueName('src-bp-');

  // Produced once; each client reads it with a group of its own.
  before(async () => {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
    await produceMany(brokers, topic);
  });

  for (const client of KAFKA_CLIENTS) it(`keeps RSS bounded while 1M records wait, then delivers all of them (${client})`, async () => {
    const capacity = 20_000;
    const reader = kafkaSource<{ id: number }>({ config: config(brokers, uniqueName('grp-bp-'), {}, client), topic, queueCapacityRecords: capacity, maxBatchRecords: 5_000 }).createReader();
    const ctx = context();
    await reader.open(ctx, undefined);
    const ids = new Uint8Array(RECORDS);
    let seen = 0;
    while (seen === 0) {
      const batch = await reader.poll();
      if (typeof batch !== 'object') continue;
      for (const r of batch.records) ids[r.id] = 1;
      seen += batch.records.length;
    }
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    // The pipeline "has no capacity": nobody polls for a while; the consumer must pause.
    let peak = baseline;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 200));
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    const growthMb = (peak - baseline) / 2 ** 20;
    // Unbounded buffering of 1M records as kafkajs messages would take several hundred MB.
    assert.ok(growthMb < 80, `RSS grew by ${growthMb.toFixed(1)} MB while paused`);

    let maxRss = peak;
    while (seen < RECORDS) {
      const batch = await reader.poll();
      if (batch === 'idle') continue;
      assert.ok(typeof batch === 'object');
      for (const r of batch.records) ids[r.id] = 1;
      seen += batch.records.length;
      if ((seen & 0xffff) < 5_000) maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }
    await reader.close();
    const positions = reader.snapshot(1).offsets.reduce((sum, o) => sum + Number(o.offset), 0);
    assert.equal(positions, RECORDS);
    assert.equal(seen, RECORDS);
    assert.equal(ids.indexOf(0), -1, 'every id arrived (so with seen === RECORDS, none twice)');
    const backpressure = await ctx.metrics.kafkaPausedSeconds.get();
    assert.ok((backpressure.values[0]?.value ?? 0) >= 4, 'paused time is counted as backpressure');
    console.log(`# backpressure (${client}): RSS baseline ${(baseline / 2 ** 20).toFixed(0)} MB, paused peak +${growthMb.toFixed(1)} MB, draining max ${(maxRss / 2 ** 20).toFixed(0)} MB`);
  });
});
