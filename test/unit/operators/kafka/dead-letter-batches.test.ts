import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { batchDeadLetters, fitDeadLetter, TRUNCATED_HEADER } from '../../../../src/operators/kafka/dead-letter-batches.js';
import { DEAD_LETTER_HEADERS, KafkaDeadLetterSink } from '../../../../src/operators/kafka/kafka-dead-letter-sink.js';
import type { ProducedMessage } from '../../../../src/operators/kafka/kafka-client.js';
import { loadKafkaConfig } from '../../../../src/operators/kafka/kafka-config.js';
import { ConfigError } from '../../../../src/errors.js';
import { mulberry32 } from '../../runtime/support/prng.js';

// The oracle: kafkajs' own encoder of a v2 record batch, as it goes on the wire (uncompressed).
const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (options: { records: unknown[] }) => Promise<{ buffer: Buffer }> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (options: { offsetDelta: number; timestampDelta: number; key: unknown; value: unknown; headers: unknown }) => unknown;

async function wireBytes(batch: readonly ProducedMessage[]): Promise<number> {
  const toBuffer = (v: string | Buffer | null | undefined) => (v == null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));
  const records = batch.map((m, i) =>
    Record({
      offsetDelta: i,
      // Worst case: a delta of hours in the varlong.
      timestampDelta: 10_000_000 + i,
      key: toBuffer(m.key),
      value: toBuffer(m.value),
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, toBuffer(v)])),
    }),
  );
  return (await RecordBatch({ records })).buffer.length;
}

function letter(random: () => number, i: number, valueBytes: number): ProducedMessage {
  return {
    key: String(i),
    value: 'x'.repeat(valueBytes),
    headers: {
      [DEAD_LETTER_HEADERS.reason]: 'malformed_json',
      [DEAD_LETTER_HEADERS.detail]: `Unexpected token at position ${Math.floor(random() * 1000)}`,
      [DEAD_LETTER_HEADERS.step]: 'orders.input',
      [DEAD_LETTER_HEADERS.sourceTopic]: 'orders',
      [DEAD_LETTER_HEADERS.sourcePartition]: '3',
      [DEAD_LETTER_HEADERS.sourceOffset]: String(1_000_000 + i),
    },
  };
}

test('5 000 small dead letters are split, in order, into batches that each fit the broker limit on the wire', async () => {
  const random = mulberry32(16);
  const limit = 64 * 1024;
  const messages = Array.from({ length: 5_000 }, (_, i) => letter(random, i, 20 + Math.floor(random() * 400)));
  const batches = batchDeadLetters(messages, limit);
  assert.ok(batches.length > 10, `${batches.length} batches`);
  assert.deepEqual(batches.flat(), messages, 'every dead letter once, in order');
  for (const batch of batches) {
    const bytes = await wireBytes(batch);
    assert.ok(bytes <= limit, `a batch of ${batch.length} takes ${bytes} bytes on the wire, over ${limit}`);
    assert.ok(bytes > limit * 0.8 || batch === batches.at(-1), `batches are filled: ${bytes} of ${limit}`);
  }
});

test('a dead letter too large alone is truncated to fit, keeping its origin and saying what was cut', async () => {
  const random = mulberry32(17);
  const limit = 32 * 1024;
  const base = letter(random, 7, 2 * 1024 * 1024);
  const huge: ProducedMessage = { ...base, headers: { ...base.headers, [DEAD_LETTER_HEADERS.detail]: 'd'.repeat(10_000) } };
  const fitted = fitDeadLetter(huge, limit, DEAD_LETTER_HEADERS.detail);
  assert.ok((await wireBytes([fitted])) <= limit);
  assert.equal(fitted.headers?.[TRUNCATED_HEADER], `detail:10000,value:${2 * 1024 * 1024}`);
  for (const name of [DEAD_LETTER_HEADERS.sourceTopic, DEAD_LETTER_HEADERS.sourcePartition, DEAD_LETTER_HEADERS.sourceOffset, DEAD_LETTER_HEADERS.reason, DEAD_LETTER_HEADERS.step]) {
    assert.equal(fitted.headers?.[name], huge.headers?.[name], name);
  }
  assert.equal(fitted.key, '7');
  const value = fitted.value as Buffer;
  assert.ok(value.length > limit / 2, `as much of the value as fits is kept (${value.length} bytes)`);
  assert.ok(value.equals(Buffer.from(huge.value as string).subarray(0, value.length)), 'the kept bytes are the start of the original');
  // A huge key is cut too, after the value.
  const hugeKey = fitDeadLetter({ ...huge, key: 'k'.repeat(100_000) }, limit, DEAD_LETTER_HEADERS.detail);
  assert.match(String(hugeKey.headers?.[TRUNCATED_HEADER]), /value:\d+,key:100000$/);
  assert.ok((await wireBytes([hugeKey])) <= limit);
  // What fits is left alone.
  const small = letter(random, 8, 100);
  assert.equal(fitDeadLetter(small, limit, DEAD_LETTER_HEADERS.detail), small);
});

test('KAFKA_DLQ_MAX_BATCH_BYTES below 16 KiB is a configuration error naming the setting', () => {
  const config = loadKafkaConfig({ env: { KAFKA_BROKERS: '127.0.0.1:9092' }, jobName: 'orders' });
  assert.throws(() => new KafkaDeadLetterSink({ config, sourceTopic: 'orders', maxBatchBytes: 1_000 }), (e: unknown) => e instanceof ConfigError && /KAFKA_DLQ_MAX_BATCH_BYTES/.test(e.message));
});
