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
});
