import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { createKafkaClient } from '../../../src/operators/kafka/kafka-client-factory.js';
import { kafkaSource } from '../../../src/operators/kafka/kafka-source.js';
import type { KafkaPositions } from '../../../src/operators/kafka/kafka-positions.js';
import { produce } from '../../../src/produce.js';
import { KAFKA_CLIENTS, TestRecord, config, context, pollUntil, testJob } from './reader-harness.js';

for (const client of KAFKA_CLIENTS) describe(`kafka source: positions across readers (real broker, ${client})`, () => {
  let brokers: string[];
  let admin: kafkajs.Admin;

  before(async () => {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
    admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
  });
  after(async () => {
    await admin?.disconnect();
  });

  it('restoring a snapshot in a new reader continues with no loss and no duplicate', async () => {
    const topic = uniqueName('src-eo-');
    const groupId = uniqueName('grp-eo-');
    const total = 6_000;
    const cfg = config(brokers, groupId, {}, client);
    const summary = await produce({ job: testJob(topic), client: createKafkaClient(cfg), count: total, partitions: 3, seed: 7 });
    assert.deepEqual(summary, { produced: total, bad: 0, topic });

    // First reader: read part, checkpoint, read more past the checkpoint, then "crash".
    const source = kafkaSource({ config: cfg, topic, schema: TestRecord, maxBatchRecords: 500, queueCapacityRecords: 2_000 });
    const first = source.createReader();
    await first.open(context(), undefined);
    const beforeCheckpoint = await pollUntil(first, (all) => all.length >= total / 2);
    const snapshot = first.snapshot(1);
    // The runtime stores the positions through the serializer: go through it, as a restore would.
    const stored = source.positionSerializer.serialize(snapshot);
    await first.notifyCheckpointComplete(1);
    const afterCheckpoint = await pollUntil(first, (all) => all.length >= 500);
    await first.close();

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committedByPartition = Object.fromEntries(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (const { partition, offset } of snapshot.offsets) assert.equal(committedByPartition[partition], offset, `committed offset of partition ${partition}`);
    assert.equal(snapshot.offsets.reduce((sum, o) => sum + Number(o.offset), 0), beforeCheckpoint.length, 'snapshot covers exactly what was polled');
    assert.ok(afterCheckpoint.length > 0);

    const restored: KafkaPositions = source.positionSerializer.deserialize(source.positionSerializer.version, stored);
    const second = source.createReader();
    await second.open(context(), restored);
    const rest = await pollUntil(second, (all) => beforeCheckpoint.length + all.length >= total);
    // Nothing more may arrive: a duplicate would show up here.
    for (let i = 0; i < 5; i++) assert.equal(await second.poll(), 'idle');
    await second.close();

    const ids = [...beforeCheckpoint, ...rest].map((r) => r.id).sort((a, b) => a - b);
    assert.equal(ids.length, total);
    ids.forEach((id, index) => assert.equal(id, index));
  });

  it('starts from latest or from a timestamp when nothing is restored', async () => {
    const topic = uniqueName('src-start-');
    const cfgLatest = config(brokers, uniqueName('grp-latest-'), { KAFKA_START_FROM: 'latest' }, client);
    const kafka = createKafkaClient(cfgLatest);
    await produce({ job: testJob(topic), client: kafka, count: 100, partitions: 2 });
    await new Promise((r) => setTimeout(r, 20));
    const boundary = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ key: String(1000 + i), value: JSON.stringify({ id: 1000 + i, name: 'late', amount: 1 }) })));

    const latest = kafkaSource({ config: cfgLatest, topic, schema: TestRecord }).createReader();
    await latest.open(context(), undefined);
    // Wait for the assignment before producing, so 'latest' is resolved before these records.
    await latest.poll();
    for (let i = 0; i < 20 && (await latest.poll()) !== 'idle'; i++);
    await producer.send(topic, [{ key: 'x', value: JSON.stringify({ id: 2000, name: 'new', amount: 1 }) }]);
    const fromLatest = await pollUntil(latest, (all) => all.length >= 1);
    assert.deepEqual(fromLatest.map((r) => r.id), [2000]);
    await latest.close();

    const cfgTime = config(brokers, uniqueName('grp-time-'), { KAFKA_START_FROM: boundary }, client);
    const byTime = kafkaSource({ config: cfgTime, topic, schema: TestRecord }).createReader();
    await byTime.open(context(), undefined);
    const fromTime = await pollUntil(byTime, (all) => all.length >= 11);
    assert.deepEqual(fromTime.map((r) => r.id).sort((a, b) => a - b), [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 2000]);
    await byTime.close();
    await producer.disconnect();
  });
});
