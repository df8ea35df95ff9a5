/**
 * Keys stay in their partitions whichever client produced them: both producers partition keyed
 * records as Kafka's Java client does (murmur2 of the key, sign bit cleared, modulo the
 * partition count), so switching KAFKA_CLIENT never moves a key — which group mode relies on.
 * The expected hashes are Kafka's own test vectors (UtilsTest.testMurmur2), not our code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { createKafkaClient } from '../../../src/operators/kafka/kafka-client-factory.js';
import { KAFKA_CLIENTS, config } from './reader-harness.js';

const JAVA_MURMUR2: Readonly<Record<string, number>> = {
  '21': -973932308,
  foobar: -790332482,
  'a-little-bit-long-string': -985981536,
  'a-little-bit-longer-string': -1486304829,
  lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
  abc: 479470107,
};
const PARTITIONS = 7;

for (const client of KAFKA_CLIENTS) describe(`keyed records land where Kafka's Java client puts them (real broker, ${client})`, () => {
  it('every key in partition (murmur2(key) & 0x7fffffff) % partitions', async () => {
    const { kafkaBrokers: brokers } = await ensureServices({ kafka: true });
    const topic = uniqueName('keyed-');
    const kafka = createKafkaClient(config(brokers, uniqueName('grp-keyed-'), {}, client));
    const admin = await kafka.admin();
    try {
      assert.equal(await admin.ensureTopic(topic, PARTITIONS), true);
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send(topic, Object.keys(JAVA_MURMUR2).map((key) => ({ key, value: key })));
    } finally {
      await producer.disconnect();
    }

    // Read back with a plain kafkajs consumer: which partition each key is in.
    const reader = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId: uniqueName('grp-keyed-read-') });
    const seen = new Map<string, number>();
    await reader.connect();
    try {
      await reader.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${seen.size} keys read back`)), 30_000);
        void reader.run({
          eachMessage: async ({ partition, message }) => {
            seen.set(message.key!.toString(), partition);
            if (seen.size === Object.keys(JAVA_MURMUR2).length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await reader.disconnect();
    }
    for (const [key, hash] of Object.entries(JAVA_MURMUR2)) assert.equal(seen.get(key), (hash & 0x7fffffff) % PARTITIONS, `partition of key '${key}'`);
  });
});
