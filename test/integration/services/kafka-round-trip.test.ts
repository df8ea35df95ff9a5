import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ensureServices, uniqueName, type ServiceEndpoints } from '../../helpers/services.js';

let endpoints: ServiceEndpoints;
let kafka: kafkajs.Kafka;

before(async () => {
  endpoints = await ensureServices({ kafka: true });
  kafka = new kafkajs.Kafka({ clientId: 'services-smoke', brokers: endpoints.kafkaBrokers, logLevel: kafkajs.logLevel.WARN });
});

test('the broker listens on loopback only and advertises 127.0.0.1', async () => {
  assert.deepEqual(endpoints.kafkaBrokers, [`127.0.0.1:${process.env.STREAMLINE_KAFKA_PORT ?? 9092}`]);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    assert.equal(cluster.brokers[0]!.host, '127.0.0.1');
  } finally {
    await admin.disconnect();
  }
});

test('kafkajs produces to and consumes from a two-partition topic, committing group offsets', async () => {
  const topic = uniqueName('smoke-round-trip-');
  const groupId = uniqueName('smoke-group-');
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, idempotent: true });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }), true);

    const sent = Array.from({ length: 40 }, (_, i) => ({ key: `key-${i % 7}`, value: JSON.stringify({ seq: i }) }));
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: sent });

    const received: { key: string; value: string; partition: number }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${sent.length} messages consumed in 60 s`)), 60_000);
      void consumer.run({
        autoCommit: true,
        eachMessage: async ({ partition, message }) => {
          received.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
          if (received.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await done;

    const byValue = (a: { value: string }, b: { value: string }) => a.value.localeCompare(b.value);
    assert.deepEqual(
      received.map(({ key, value }) => ({ key, value })).sort(byValue),
      [...sent].sort(byValue),
    );
    // The default partitioner keeps a key on one partition, and both partitions got data.
    const partitionsByKey = new Map<string, Set<number>>();
    for (const r of received) partitionsByKey.set(r.key, (partitionsByKey.get(r.key) ?? new Set()).add(r.partition));
    for (const [key, partitions] of partitionsByKey) assert.equal(partitions.size, 1, `key ${key} spread over ${[...partitions]}`);
    assert.equal(new Set(received.map((r) => r.partition)).size, 2);

    await consumer.stop(); // commits what was consumed
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    assert.equal(committed, sent.length);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
