import assert from 'node:assert/strict';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { DeadLetter, DeadLetterSink } from '../../../../src/runtime/dead-letter.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import type { SourceBatch, SourceContext } from '../../../../src/runtime/source.js';
import type {
  ConsumedMessage,
  ConsumerHandlers,
  KafkaAdminClient,
  KafkaClient,
  KafkaConsumerClient,
  TopicPartition,
  TopicPartitionOffset,
} from '../../../../src/operators/kafka/kafka-client.js';
import { loadKafkaConfig } from '../../../../src/operators/kafka/kafka-config.js';
import { kafkaSource } from '../../../../src/operators/kafka/kafka-source.js';
import type { KafkaPositions } from '../../../../src/operators/kafka/kafka-positions.js';

const TOPIC = 'orders';
const Order = z.object({ id: z.number(), ts: z.number() });
type Order = z.infer<typeof Order>;

/** A fake cluster: records per partition, a consumer whose deliveries the test drives. */
class FakeClient implements KafkaClient {
  readonly kind = 'fake';
  readonly logs = new Map<number, ConsumedMessage[]>();
  handlers!: ConsumerHandlers;
  readonly seeks: TopicPartitionOffset[] = [];
  readonly paused = new Set<number>();
  readonly commits: TopicPartitionOffset[][] = [];
  pauseCalls = 0;

  constructor(partitions: number) {
    for (let p = 0; p < partitions; p++) this.logs.set(p, []);
  }

  append(partition: number, value: string | null, timestamp = 0): void {
    const log = this.logs.get(partition)!;
    log.push({ offset: String(log.length), timestamp: String(timestamp), key: null, value: value === null ? null : Buffer.from(value) });
  }

  deliver(partition: number, from: number, to: number): void {
    const log = this.logs.get(partition)!;
    this.handlers.onBatch({ topic: TOPIC, partition, messages: log.slice(from, to), highWatermark: String(log.length) });
  }

  consumer(): KafkaConsumerClient {
    return {
      start: async (handlers) => {
        this.handlers = handlers;
      },
      seek: (position) => void this.seeks.push(position),
      pause: (tps: readonly TopicPartition[]) => {
        this.pauseCalls++;
        for (const tp of tps) this.paused.add(tp.partition);
      },
      resume: (tps: readonly TopicPartition[]) => {
        for (const tp of tps) this.paused.delete(tp.partition);
      },
      commit: async (offsets) => void this.commits.push([...offsets]),
      stop: async () => {},
    };
  }

  producer(): never {
    throw new Error('not used');
  }

  async admin(): Promise<KafkaAdminClient> {
    return {
      ensureTopic: async () => false,
      describeTopic: async () => ({ partitions: this.logs.size }),
      partitionBounds: async () => [...this.logs].map(([partition, log]) => ({ partition, low: '0', high: String(log.length) })),
      offsetsForTimestamp: async () => [],
      disconnect: async () => {},
    };
  }

  assign(...partitions: number[]): void {
    this.handlers.onAssignment(partitions.map((partition) => ({ topic: TOPIC, partition })));
  }
}

class MemoryDeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  send(letters: readonly DeadLetter[]): void {
    this.letters.push(...letters);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

function context(deadLetters = new MemoryDeadLetters()): SourceContext & { deadLetters: MemoryDeadLetters } {
  return { jobName: 'orders', stepId: 'orders.input', logger: silentLogger(), metrics: new MetricsRegistry(), deadLetters, signal: new AbortController().signal, clock: systemClock };
}

const config = loadKafkaConfig({ env: { KAFKA_BROKERS: '127.0.0.1:1' }, jobName: 'orders' });

function build(client: FakeClient, extra: Partial<Parameters<typeof kafkaSource<Order>>[0]> = {}) {
  return kafkaSource<Order>({ config, topic: TOPIC, schema: Order, client: () => client, pollTimeoutMs: 20, ...extra }).createReader();
}

function records(batch: SourceBatch<Order> | 'idle' | 'end'): Order[] {
  assert.ok(typeof batch === 'object', `expected a batch, got ${String(batch)}`);
  return [...batch.records];
}

describe('KafkaSourceReader (fake client)', () => {
  it('seeks to the start, polls parsed records one partition (split) per batch and snapshots the next offsets', async () => {
    const client = new FakeClient(2);
    for (let i = 0; i < 5; i++) client.append(i % 2, JSON.stringify({ id: i, ts: i }));
    const reader = build(client);
    await reader.open(context(), undefined);
    client.assign(0, 1);
    assert.deepEqual(client.seeks, [{ topic: TOPIC, partition: 0, offset: '0' }, { topic: TOPIC, partition: 1, offset: '0' }]);
    assert.equal(await reader.poll(), 'idle');
    client.deliver(0, 0, 3);
    client.deliver(1, 0, 1);
    const first = await reader.poll();
    assert.deepEqual(records(first).map((r) => r.id), [0, 2, 4]);
    assert.equal(first !== 'idle' && first !== 'end' ? first.split : undefined, `${TOPIC}:0`);
    const second = await reader.poll();
    assert.deepEqual(records(second).map((r) => r.id), [1]);
    assert.equal(second !== 'idle' && second !== 'end' ? second.split : undefined, `${TOPIC}:1`);
    const snapshot = reader.snapshot(1);
    assert.deepEqual(snapshot.offsets, [{ topic: TOPIC, partition: 0, offset: '3' }, { topic: TOPIC, partition: 1, offset: '1' }]);
    await reader.close();
  });

  it('restores positions, skips redelivered records and commits only on completion', async () => {
    const client = new FakeClient(1);
    for (let i = 0; i < 6; i++) client.append(0, JSON.stringify({ id: i, ts: i }));
    const reader = build(client);
    const restored: KafkaPositions = { offsets: [{ topic: TOPIC, partition: 0, offset: '2' }] };
    await reader.open(context(), restored);
    client.assign(0);
    assert.deepEqual(client.seeks, [{ topic: TOPIC, partition: 0, offset: '2' }]);
    client.deliver(0, 0, 4); // a stale fetch from before the seek overlaps the restored position
    assert.deepEqual(records(await reader.poll()).map((r) => r.id), [2, 3]);
    client.deliver(0, 3, 6);
    assert.deepEqual(records(await reader.poll()).map((r) => r.id), [4, 5]);
    reader.snapshot(7);
    assert.equal(client.commits.length, 0, 'nothing committed before the checkpoint completes');
    await reader.notifyCheckpointComplete(7);
    assert.deepEqual(client.commits, [[{ topic: TOPIC, partition: 0, offset: '6' }]]);
    await reader.close();
  });

  it('a completed checkpoint subsumes earlier ones; late notifications do nothing', async () => {
    const client = new FakeClient(1);
    for (let i = 0; i < 4; i++) client.append(0, JSON.stringify({ id: i, ts: i }));
    const reader = build(client, { maxBatchRecords: 2 });
    await reader.open(context(), undefined);
    client.assign(0);
    client.deliver(0, 0, 4);
    await reader.poll();
    reader.snapshot(1);
    await reader.poll();
    reader.snapshot(2);
    await reader.notifyCheckpointComplete(2);
    await reader.notifyCheckpointComplete(1);
    assert.deepEqual(client.commits, [[{ topic: TOPIC, partition: 0, offset: '4' }]]);
    await reader.close();
  });

  it('bounded (KAFKA_STOP_AT=end): ends once every partition is read up to its end offset at the start, whatever arrives later', async () => {
    const client = new FakeClient(3);
    for (let i = 0; i < 5; i++) client.append(i % 2, JSON.stringify({ id: i, ts: i })); // partition 2 stays empty
    const boundedConfig = loadKafkaConfig({ env: { KAFKA_BROKERS: '127.0.0.1:1', KAFKA_STOP_AT: 'end' }, jobName: 'orders' });
    const reader = build(client, { config: boundedConfig });
    await reader.open(context(), undefined);
    client.append(0, JSON.stringify({ id: 99, ts: 99 })); // produced after the start: not part of the bounded input
    client.assign(0, 1, 2);
    client.deliver(0, 0, 2);
    assert.deepEqual(records(await reader.poll()).map((r) => r.id), [0, 2]);
    assert.equal(await reader.poll(), 'idle', 'partition 0 has one more record and partition 1 is unread');
    client.deliver(0, 2, 4);
    client.deliver(1, 0, 2);
    const seen = [...records(await reader.poll()), ...records(await reader.poll())].map((r) => r.id).sort((a, b) => a - b);
    assert.deepEqual(seen, [1, 3, 4], 'record 99 lies beyond the end offset of the start');
    assert.equal(await reader.poll(), 'end');
    await reader.close();
    assert.throws(() => loadKafkaConfig({ env: { KAFKA_BROKERS: '127.0.0.1:1', KAFKA_STOP_AT: 'tomorrow' }, jobName: 'orders' }), /KAFKA_STOP_AT/);
  });

  it('pauses all partitions when the queue is full and resumes once drained to half', async () => {
    const client = new FakeClient(2);
    for (let i = 0; i < 40; i++) client.append(i % 2, JSON.stringify({ id: i, ts: i }));
    const ctx = context();
    const reader = build(client, { queueCapacityRecords: 20, maxBatchRecords: 5 });
    await reader.open(ctx, undefined);
    client.assign(0, 1);
    client.deliver(0, 0, 10);
    assert.equal(client.paused.size, 0);
    client.deliver(1, 0, 10);
    assert.deepEqual([...client.paused].sort(), [0, 1]);
    let seen = 0;
    seen += records(await reader.poll()).length; // 15 queued: still above half
    assert.equal(client.paused.size, 2);
    seen += records(await reader.poll()).length; // 10 queued: resume
    assert.equal(client.paused.size, 0);
    while (seen < 20) seen += records(await reader.poll()).length;
    assert.equal(await reader.poll(), 'idle');
    const metrics = await ctx.metrics.kafkaPausedSeconds.get();
    assert.equal(metrics.values.length, 1);
    await reader.close();
  });

  it('sends malformed, invalid and oversized records to dead letters with their origin', async () => {
    const client = new FakeClient(1);
    client.append(0, '{"id":1,"ts":1}');
    client.append(0, '{"id":2,');
    client.append(0, '{"id":"three","ts":3}');
    client.append(0, JSON.stringify({ id: 4, ts: 4, pad: 'x'.repeat(200) }));
    client.append(0, null);
    client.append(0, '{"id":6,"ts":6}');
    const ctx = context();
    const reader = build(client, { maxRecordBytes: 100 });
    await reader.open(ctx, undefined);
    client.assign(0);
    client.deliver(0, 0, 6);
    assert.deepEqual(records(await reader.poll()).map((r) => r.id), [1, 6]);
    assert.deepEqual(
      ctx.deadLetters.letters.map((l) => [l.reason, l.origin?.offset, l.step]),
      [
        ['malformed_json', '1', 'orders.input'],
        ['schema_violation', '2', 'orders.input'],
        ['too_large', '3', 'orders.input'],
        ['malformed_json', '4', 'orders.input'],
      ],
    );
    assert.equal(Buffer.from(ctx.deadLetters.letters[0]!.payload).toString(), '{"id":2,');
    assert.deepEqual(reader.snapshot(1).offsets, [{ topic: TOPIC, partition: 0, offset: '6' }], 'rejected records are consumed too');
    const counted = await ctx.metrics.deadLetters.get();
    assert.equal(counted.values.reduce((sum, v) => sum + v.value, 0), 4);
    await reader.close();
  });

  it('drops queued records of revoked partitions and resumes them from the polled position', async () => {
    const client = new FakeClient(2);
    for (let i = 0; i < 8; i++) client.append(i % 2, JSON.stringify({ id: i, ts: i }));
    const reader = build(client, { maxBatchRecords: 2 });
    await reader.open(context(), undefined);
    client.assign(0, 1);
    client.deliver(1, 0, 4);
    client.deliver(0, 0, 4);
    assert.deepEqual(records(await reader.poll()).map((r) => r.id), [1, 3]);
    client.assign(1); // partition 0 revoked: its 4 queued records are dropped
    client.seeks.length = 0;
    assert.deepEqual(records(await reader.poll()).map((r) => r.id), [5, 7]);
    assert.equal(await reader.poll(), 'idle');
    client.assign(0, 1);
    assert.deepEqual(client.seeks, [{ topic: TOPIC, partition: 0, offset: '0' }, { topic: TOPIC, partition: 1, offset: '4' }]);
    await reader.close();
  });

  it('emits watermarks from a record field', async () => {
    const client = new FakeClient(2);
    client.append(0, '{"id":1,"ts":1000}');
    client.append(1, '{"id":2,"ts":5000}');
    const reader = build(client, { eventTime: (r) => r.ts, watermarks: { maxOutOfOrdernessMs: 100, idleTimeoutMs: 60_000 } });
    await reader.open(context(), undefined);
    client.assign(0, 1);
    client.deliver(1, 0, 1);
    const first = await reader.poll();
    assert.ok(typeof first === 'object');
    assert.equal(first.watermark, undefined, 'partition 0 has not delivered yet');
    client.deliver(0, 0, 1);
    const second = await reader.poll();
    assert.ok(typeof second === 'object');
    assert.equal(second.watermark, 899);
    await reader.close();
  });

  it('surfaces a fatal client error from poll', async () => {
    const client = new FakeClient(1);
    const reader = build(client);
    await reader.open(context(), undefined);
    client.handlers.onFatal(new Error('broker said no'));
    await assert.rejects(reader.poll(), /broker said no/);
    await reader.close();
  });
});

describe('KafkaSourceReader consumer lag', () => {
  it('is refreshed from the end offsets while nothing is polled, and falls as records are polled; its series go when the reader closes', async () => {
    const client = new FakeClient(2);
    for (let i = 0; i < 6; i++) client.append(i % 2, JSON.stringify({ id: i, ts: i }));
    const reader = build(client, { lagRefreshMs: 10 });
    const ctx = context();
    await reader.open(ctx, undefined);
    client.assign(0, 1);
    const lag = async () => Object.fromEntries((await ctx.metrics.consumerLag.get()).values.map((v) => [v.labels.partition, v.value]));
    const until = async (want: Record<string, number>) => {
      for (let i = 0; i < 200 && JSON.stringify(await lag()) !== JSON.stringify(want); i++) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(await lag(), want);
    };
    await until({ 0: 3, 1: 3 });
    client.deliver(0, 0, 3);
    await reader.poll();
    await until({ 0: 0, 1: 3 });
    await reader.close();
    assert.deepEqual(await lag(), {}, 'no series left for partitions this reader no longer reads');
  });
});
