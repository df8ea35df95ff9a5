/**
 * A job declared with defineJob: its input declared once becomes the flow's `input` step (the
 * generator on the embedded default, the Kafka topic with brokers) and the process wires the
 * input's dead letters; the job module needs nothing else.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { z } from 'zod';
import { jobDeadLetters } from '../../../src/cli/job-dead-letters.js';
import { defineJob, discardSink } from '../../../src/index.js';
import { KafkaDeadLetterSink } from '../../../src/operators/kafka/kafka-dead-letter-sink.js';
import { FileDeadLetterSink } from '../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import type { JobEnvironment } from '../../../src/runtime/job.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../src/runtime/metrics-registry.js';

const workDir = mkdtempSync(join(tmpdir(), 'define-job-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

const Click = z.object({ user: z.string().transform((u) => u.toUpperCase()), at: z.number() });

const clicks = defineJob({
  name: 'clicks',
  input: { topic: 'clicks', schema: Click, generate: (i) => ({ user: `u${i % 3}`, at: i }), key: (c) => c.user, eventTime: (c) => c.at },
  build: (input) => input.filter('recent', (c) => c.at >= 0).sink('out', discardSink()),
});

function env(settings: Record<string, string | undefined>): JobEnvironment {
  return { jobName: 'clicks', settings, workDir, logger: silentLogger(), metrics: new MetricsRegistry() };
}

test('the declared input is the step <job>.input, read from the generator without brokers', async () => {
  const plan = await clicks.build(env({}));
  assert.deepEqual(plan.flow.graph().map((n) => `${n.kind}:${n.id}`), ['source:clicks.input', 'operator:clicks.recent', 'sink:clicks.out']);
  assert.equal(plan.flow.nodesOf('source')[0]!.source.kind, 'datagen');
  assert.equal(plan.deadLetters, undefined, 'the process wires the dead letters, not the job');
  assert.equal(clicks.checkpoint, undefined, 'checkpoint options default in the runtime');
});

test('with KAFKA_BROKERS the same declaration reads the topic', async () => {
  const plan = await clicks.build(env({ KAFKA_BROKERS: '127.0.0.1:1' }));
  assert.equal(plan.flow.nodesOf('source')[0]!.source.kind, 'kafka');
});

test('the job keeps its input declaration for produce.js and check; the key sees the validated record', () => {
  assert.equal(clicks.input?.topic, 'clicks');
  const parsed = clicks.input!.schema!.safeParse(clicks.input!.generate(4, Math.random));
  assert.ok(parsed.success);
  assert.equal(clicks.input!.key!(parsed.data), 'U1');
});

test('dead letters: <topic>.dlq when the declared input reads Kafka (KAFKA_DLQ_TOPIC overrides), else the local file', async () => {
  const kafkaEnv = env({ KAFKA_BROKERS: '127.0.0.1:1' });
  const kafka = jobDeadLetters(clicks, await clicks.build(kafkaEnv), kafkaEnv);
  assert.ok(kafka instanceof KafkaDeadLetterSink);
  assert.equal(kafka.topic, 'clicks.dlq');
  const overridden = env({ KAFKA_BROKERS: '127.0.0.1:1', KAFKA_DLQ_TOPIC: 'rejects' });
  assert.equal((jobDeadLetters(clicks, await clicks.build(overridden), overridden) as KafkaDeadLetterSink).topic, 'rejects');
  const local = jobDeadLetters(clicks, await clicks.build(env({})), env({}));
  assert.ok(local instanceof FileDeadLetterSink);
  assert.equal(local.path, join(workDir, 'dead-letters', 'clicks.jsonl'));
  await Promise.all([kafka.close(), local.close()]);
});
