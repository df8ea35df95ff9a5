/**
 * Kafka source vs the ceiling of its client: a raw kafkajs consume loop (no processing) and our
 * source polled into nothing, on the same topic and data (300k JSON records of ~200 B). Each
 * run uses a fresh consumer group and is timed from its first record to its last, so group join
 * time is excluded for both.
 */
import { systemClock } from '../src/runtime/time/system-clock.js';
import kafkajs from 'kafkajs';
import { z } from 'zod';
import type { Bench, BenchEntry } from './bench-entry.js';
import { ensureServices, uniqueName } from '../test/helpers/services.js';
import { silentLogger } from '../src/runtime/logger.js';
import { MetricsRegistry } from '../src/runtime/metrics-registry.js';
import type { DeadLetterSink } from '../src/runtime/dead-letter.js';
import { loadKafkaConfig, type KafkaConfig } from '../src/operators/kafka/kafka-config.js';
import { kafkaSource } from '../src/operators/kafka/kafka-source.js';
import type { RecordSchema } from '../src/operators/kafka/json-deserializer.js';
import { withFastPath } from '../src/runtime/validation/fast-record-schema.js';
import { formatSpread, interleaved } from './job-run.js';

const RECORDS = 300_000;
const PARTITIONS = 4;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

type Variant = 'raw' | 'rawParsed' | 'ours' | 'oursNoSchema' | 'oursBytes';

const Order = z.object({
  order_id: z.string(),
  customer_id: z.string(),
  amount: z.number(),
  currency: z.string().length(3),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int() })),
  created_at: z.string(),
  status: z.enum(['created', 'paid', 'shipped']),
});

function order(i: number): string {
  return JSON.stringify({
    order_id: `o-${String(i).padStart(9, '0')}`,
    customer_id: `c-${i % 100_000}`,
    amount: (i % 10_000) / 100,
    currency: 'EUR',
    items: [{ sku: `sku-${i % 97}`, qty: 1 + (i % 3) }, { sku: `sku-${i % 89}`, qty: 1 }],
    created_at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    status: 'created',
  });
}

async function produceOnce(brokers: string[], topic: string): Promise<number> {
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  let bytes = 0;
  const inFlight = new Set<Promise<unknown>>();
  for (let start = 0; start < RECORDS; start += 4_000) {
    const messages = Array.from({ length: 4_000 }, (_, k) => {
      const value = order(start + k);
      bytes += value.length;
      return { value, partition: (start / 4_000) % PARTITIONS };
    });
    const sent: Promise<unknown> = producer.send({ topic, messages }).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= 6) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  return bytes / RECORDS;
}

/** Records/s of a plain kafkajs eachBatch loop; `work` runs per message (nothing for the ceiling). */
async function rawKafkaJs(brokers: string[], topic: string, work?: (value: Buffer) => void): Promise<number> {
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('bench-raw-') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let first = 0;
  let last = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (count === 0) first = performance.now();
          if (work) for (const m of batch.messages) work(m.value!);
          count += batch.messages.length;
          if (count >= RECORDS) {
            last = performance.now();
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return (count / (last - first)) * 1000;
}

const discard: DeadLetterSink = { send: () => {}, flush: async () => {}, close: async () => {} };

/** Records/s of our source polled in a loop, records dropped. */
async function ourSource(config: KafkaConfig, topic: string, schema?: RecordSchema<unknown>, deserializer?: (bytes: Uint8Array | null) => unknown): Promise<number> {
  const reader = kafkaSource<unknown>({ config: { ...config, groupId: uniqueName('bench-src-') }, topic, schema, deserializer }).createReader();
  await reader.open(
    { jobName: 'bench', stepId: 'bench.input', logger: silentLogger(), metrics: new MetricsRegistry(), deadLetters: discard, signal: new AbortController().signal, clock: systemClock },
    undefined,
  );
  let count = 0;
  let first = 0;
  while (count < RECORDS) {
    const batch = await reader.poll();
    if (typeof batch !== 'object') continue;
    if (count === 0) first = performance.now();
    count += batch.records.length;
  }
  const last = performance.now();
  await reader.close();
  return (count / (last - first)) * 1000;
}

const bench: Bench = async () => {
  let brokers: string[];
  try {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
  } catch (error) {
    return [{ name: 'kafka source vs raw kafkajs', figures: {}, note: `skipped: no broker on 127.0.0.1 (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` }];
  }
  const topic = uniqueName('bench-kafka-');
  const avgBytes = await produceOnce(brokers, topic);
  const config = loadKafkaConfig({ env: { KAFKA_BROKERS: brokers.join(','), KAFKA_GROUP_ID: 'bench' } });
  // The raw loop validates exactly as the source does: the schema behind its compiled fast path.
  const validated = withFastPath(Order);
  const parseValidate = (value: Buffer) => {
    if (!validated.safeParse(JSON.parse(value.toString())).success) throw new Error('a generated order failed validation');
  };

  // The machine is shared and noisy: warm up, then run every variant once per round, the order
  // rotated each round; figures are medians with min–max, ratios taken within a round.
  await rawKafkaJs(brokers, topic);
  await ourSource(config, topic, Order);
  const variants: [Variant, () => Promise<number>][] = [
    ['raw', () => rawKafkaJs(brokers, topic)],
    ['rawParsed', () => rawKafkaJs(brokers, topic, parseValidate)],
    ['ours', () => ourSource(config, topic, Order)],
    ['oursNoSchema', () => ourSource(config, topic)],
    ['oursBytes', () => ourSource(config, topic, undefined, (bytes) => bytes)],
  ];
  const rounds: Map<Variant, number>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rates = new Map<Variant, number>();
    for (const [name, run] of interleaved(variants, round)) rates.set(name, await run());
    rounds.push(rates);
  }
  const rate = (v: Variant) => formatSpread(rounds.map((r) => r.get(v)!));
  const ratio = (a: Variant, b: Variant) => formatSpread(rounds.map((r) => r.get(a)! / r.get(b)!), 2);

  const data = `${RECORDS} records x ${avgBytes.toFixed(0)} B, ${PARTITIONS} partitions, ${ROUNDS} rounds`;
  const entries: BenchEntry[] = [
    { name: 'kafka: raw kafkajs eachBatch loop (ceiling)', figures: { 'records/s': rate('raw') }, note: data },
    { name: 'kafka: raw kafkajs + JSON.parse + validation', figures: { 'records/s': rate('rawParsed'), 'ratio to ceiling': ratio('rawParsed', 'raw') }, note: 'the same schema, validated as the source does' },
    { name: 'kafka: kafkaSource JSON + schema → discard', figures: { 'records/s': rate('ours'), 'ratio to ceiling': ratio('ours', 'raw'), 'ratio to raw + parse': ratio('ours', 'rawParsed') } },
    { name: 'kafka: kafkaSource JSON (no schema) → discard', figures: { 'records/s': rate('oursNoSchema'), 'ratio to ceiling': ratio('oursNoSchema', 'raw') } },
    {
      name: 'kafka: kafkaSource bytes pass-through → discard',
      figures: { 'records/s': rate('oursBytes'), 'ratio to ceiling': ratio('oursBytes', 'raw') },
      note: 'pull adaptation, queue, pause/resume and positions only: the overhead of the source itself',
    },
  ];
  return entries;
};

export default bench;
