import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { DEAD_LETTER_HEADERS, KafkaDeadLetterSink } from '../../../src/operators/kafka/kafka-dead-letter-sink.js';
import { kafkaSource } from '../../../src/operators/kafka/kafka-source.js';
import { KAFKA_CLIENTS, TestRecord, config, context, pollUntil, testJobModule } from './reader-harness.js';
import { TRUNCATED_HEADER } from '../../../src/operators/kafka/dead-letter-batches.js';
import type { KafkaClient } from '../../../src/operators/kafka/kafka-client.js';
import { kafkaJsClient } from '../../../src/operators/kafka/kafkajs-client.js';
import type { DeadLetter } from '../../../src/runtime/dead-letter.js';
import { DependencyUnavailableError } from '../../../src/errors.js';

/** Every message of a topic, read with a plain kafkajs consumer until `count` arrived (or 60 s passed). */
async function readTopic(brokers: string[], topic: string, count: number): Promise<kafkajs.KafkaMessage[]> {
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('grp-dlq-dump-'), maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: kafkajs.KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  const deadline = Date.now() + 60_000;
  while (messages.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // A little longer: more than expected would be duplicates.
  await new Promise((r) => setTimeout(r, 1_000));
  await consumer.disconnect();
  return messages;
}

function malformed(i: number, bytes: number): DeadLetter {
  return {
    reason: 'malformed_json',
    detail: 'Unexpected token x in JSON at position 0',
    step: 'burst.input',
    payload: `x${String(i).padStart(8, '0')}${'#'.repeat(bytes)}`,
    origin: { topic: 'burst', partition: 0, offset: String(i) },
    key: String(i),
  };
}

const run = promisify(execFile);
const PRODUCE = fileURLToPath(new URL('../../../src/produce.js', import.meta.url));

interface Summary {
  produced: number;
  bad: number;
  badIds?: number[];
  topic: string;
}

/** A job module for produce.js whose input is `topic`. */
function jobFileFor(topic: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'produce-job-')), 'job.js');
  writeFileSync(file, testJobModule(topic));
  return file;
}

describe('producer CLI (real broker)', () => {
  it('rejects wrong flags with exit code 2', async () => {
    const { kafkaBrokers: brokers } = await ensureServices({ kafka: true });
    const jobFile = jobFileFor(uniqueName('src-dlq-'));
    for (const args of [[jobFile], [jobFile, '--count', 'ten'], [jobFile, '--count', '5', '--bad-fraction', '2'], [jobFile, '--count', '5', '--nope', '1'], ['--count', '5'], [jobFile, '--count', '5', '--kafka-client', 'librdkafka']]) {
      const failed = await run(process.execPath, [PRODUCE, ...args], { env: { ...process.env, KAFKA_BROKERS: brokers.join(',') } }).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      assert.equal(failed?.code, 2, `exit code for ${args.join(' ')}`);
      assert.match(failed?.stderr ?? '', /^produce: /);
    }
    const help = await run(process.execPath, [PRODUCE, '--help']);
    assert.match(help.stdout, /--bad-fraction/);
    assert.match(help.stdout, /--kafka-client/);
  });
});

for (const client of KAFKA_CLIENTS) describe(`kafka source: dead letters (real broker, ${client})`, () => {
  let brokers: string[];
  let jobFile: string;
  const topic = uniqueName('src-dlq-');

  before(async () => {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
    jobFile = jobFileFor(topic);
  });

  it('malformed and schema-violating records land in <topic>.dlq with reasons and origin headers', async () => {
    const count = 2_000;
    const { stdout } = await run(process.execPath, [PRODUCE, jobFile, '--count', String(count), '--bad-fraction', '0.05', '--seed', '3', '--partitions', '3'], {
      env: { ...process.env, KAFKA_BROKERS: brokers.join(','), KAFKA_CLIENT: client },
    });
    const summary = JSON.parse(stdout) as Summary;
    assert.equal(summary.produced, count);
    assert.equal(summary.topic, topic);
    assert.ok(summary.bad > 40 && summary.bad < 180, `about 5% bad, got ${summary.bad}`);
    assert.equal(summary.badIds?.length, summary.bad);

    const cfg = config(brokers, uniqueName('grp-dlq-'), {}, client);
    const sink = new KafkaDeadLetterSink({ config: cfg, sourceTopic: topic });
    assert.equal(sink.topic, `${topic}.dlq`);
    const ctx = context(sink);
    const reader = kafkaSource({ config: cfg, topic, schema: TestRecord }).createReader();
    await reader.open(ctx, undefined);
    let consumed = 0;
    const good = await pollUntil(reader, (all) => {
      consumed = reader.snapshot(0).offsets.reduce((sum, o) => sum + Number(o.offset), 0);
      return consumed >= count;
    });
    await sink.flush();
    await reader.close();
    await sink.close();

    const bad = new Set(summary.badIds);
    assert.equal(good.length, count - summary.bad);
    for (const r of good) assert.ok(!bad.has(r.id), `good record ${r.id} was produced as bad`);
    const counted = await ctx.metrics.deadLetters.get();
    assert.equal(counted.values.reduce((sum, v) => sum + v.value, 0), summary.bad);

    // Read the dead-letter topic back with a plain kafkajs consumer (not our client, whichever it is).
    const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: uniqueName('grp-dlq-read-') });
    await consumer.connect();
    await consumer.subscribe({ topic: sink.topic, fromBeginning: true });
    const letters: kafkajs.KafkaMessage[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          letters.push(message);
          if (letters.length === summary.bad) resolve();
        },
      });
    });
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${letters.length} dead letters`)), 30_000))]);
    await consumer.disconnect();

    const header = (m: kafkajs.KafkaMessage, name: string) => m.headers?.[name]?.toString();
    const reasons = new Map<string, number>();
    for (const letter of letters) {
      assert.ok(bad.has(Number(letter.key?.toString())), `dead letter key ${letter.key?.toString()} is a bad id`);
      const reason = header(letter, DEAD_LETTER_HEADERS.reason)!;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      assert.equal(header(letter, DEAD_LETTER_HEADERS.sourceTopic), topic);
      assert.match(header(letter, DEAD_LETTER_HEADERS.sourcePartition) ?? '', /^[0-2]$/);
      assert.match(header(letter, DEAD_LETTER_HEADERS.sourceOffset) ?? '', /^\d+$/);
      assert.equal(header(letter, DEAD_LETTER_HEADERS.step), 'kafka-it.input');
      assert.ok((header(letter, DEAD_LETTER_HEADERS.detail) ?? '').length > 0);
      if (reason === 'schema_violation') assert.doesNotThrow(() => JSON.parse(letter.value!.toString()));
      else assert.throws(() => JSON.parse(letter.value!.toString()));
    }
    assert.deepEqual([...reasons.keys()].sort(), ['malformed_json', 'schema_violation']);
    assert.deepEqual(new Set(letters.map((l) => Number(l.key!.toString()))), bad);
  });

  it('a burst of 5 000 dead letters larger than the broker message size, and one of 2 MiB, all arrive once (origin kept)', async () => {
    const sink = new KafkaDeadLetterSink({ config: config(brokers, uniqueName('grp-burst-')), sourceTopic: uniqueName('burst-') });
    const letters = Array.from({ length: 5_000 }, (_, i) => malformed(i, 300));
    letters.push({ ...malformed(5_000, 2 * 1024 * 1024), reason: 'too_large' });
    for (let i = 0; i < letters.length; i += 2_500) sink.send(letters.slice(i, i + 2_500));
    await sink.flush();
    await sink.close();
    const found = await readTopic(brokers, sink.topic, letters.length);
    const offsets = found.map((m) => Number(m.headers?.[DEAD_LETTER_HEADERS.sourceOffset]?.toString()));
    assert.equal(found.length, letters.length, `${found.length} of ${letters.length} dead letters in ${sink.topic}`);
    assert.deepEqual([...new Set(offsets)].sort((a, b) => a - b), letters.map((_, i) => i));
    const big = found.find((m) => m.key?.toString() === '5000')!;
    assert.match(big.headers?.[TRUNCATED_HEADER]?.toString() ?? '', /^value:\d+$/);
    assert.equal(big.headers?.[DEAD_LETTER_HEADERS.sourceTopic]?.toString(), 'burst');
    assert.equal(big.headers?.[DEAD_LETTER_HEADERS.sourceOffset]?.toString(), '5000');
    assert.ok(big.value!.toString().startsWith('x00005000###'));
    for (const m of found.filter((x) => x !== big)) assert.equal(m.value!.toString(), malformed(Number(m.key!.toString()), 300).payload);
  });

  it('dead letters whose send failed are sent again by the next flush, which fails until they are in the topic', async () => {
    const cfg = config(brokers, uniqueName('grp-retry-'));
    const real = kafkaJsClient(cfg);
    let failNext = 2;
    // The real client; its producer's first two sends fail as during a broker outage (the flush tries twice).
    const faulty: KafkaClient = {
      kind: real.kind,
      consumer: (options) => real.consumer(options),
      admin: () => real.admin(),
      producer: (options) => {
        const producer = real.producer(options);
        return {
          connect: () => producer.connect(),
          disconnect: () => producer.disconnect(),
          send: async (topic, messages) => {
            if (failNext-- > 0) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
            return producer.send(topic, messages);
          },
        };
      },
    };
    const sink = new KafkaDeadLetterSink({ config: cfg, sourceTopic: uniqueName('retry-'), client: faulty });
    sink.send(Array.from({ length: 50 }, (_, i) => malformed(i, 10)));
    const error = await sink.flush().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof DependencyUnavailableError && error.dependency === 'Kafka', `the first flush fails: ${String(error)}`);
    assert.match(error.message, /50 dead letters are not yet in/);
    sink.send([malformed(50, 10)]);
    await sink.flush();
    await sink.close();
    const found = await readTopic(brokers, sink.topic, 51);
    assert.deepEqual(found.map((m) => Number(m.key!.toString())).sort((a, b) => a - b), Array.from({ length: 51 }, (_, i) => i));
  });
});
