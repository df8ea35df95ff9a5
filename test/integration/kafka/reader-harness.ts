/** Shared pieces of the Kafka integration tests: a test job, a reader context, a drain loop. */
import { systemClock } from '../../../src/runtime/time/system-clock.js';
import { z } from 'zod';
import type { DeadLetter, DeadLetterSink } from '../../../src/runtime/dead-letter.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../src/runtime/metrics-registry.js';
import type { SourceContext, SourceReader } from '../../../src/runtime/source.js';
import { KAFKA_CLIENT_KINDS, loadKafkaConfig, type KafkaClientKind, type KafkaConfig } from '../../../src/operators/kafka/kafka-config.js';
import type { ProducibleJob } from '../../../src/produce.js';

export const TestRecord = z.object({ id: z.number().int(), name: z.string(), amount: z.number() });
export type TestRecord = z.infer<typeof TestRecord>;

/** The job shape produce.ts loads, with a generator that puts the index into `id`. */
export function testJob(topic: string): ProducibleJob {
  return {
    input: {
      topic,
      generate: (index, random) => ({ id: index, name: `user-${Math.floor(random() * 1000)}`, amount: Math.round(random() * 10_000) / 100 }),
    },
  };
}

/** The same job as a CommonJS module text, for the CLI (which imports a .js file). */
export function testJobModule(topic: string): string {
  return `module.exports = { input: { topic: ${JSON.stringify(topic)}, generate: (index, random) => ({ id: index, name: 'user-' + Math.floor(random() * 1000), amount: Math.round(random() * 10000) / 100 }) } };\n`;
}

/** Every client the Kafka tests run against (KAFKA_CLIENT). */
export const KAFKA_CLIENTS: readonly KafkaClientKind[] = KAFKA_CLIENT_KINDS;

export function config(brokers: readonly string[], groupId: string, extra: Record<string, string> = {}, client: KafkaClientKind = 'kafkajs'): KafkaConfig {
  return loadKafkaConfig({ env: { KAFKA_BROKERS: brokers.join(','), KAFKA_GROUP_ID: groupId, KAFKA_CLIENT_ID: 'streamline-test', KAFKA_CLIENT: client, ...extra } });
}

export class MemoryDeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  send(letters: readonly DeadLetter[]): void {
    this.letters.push(...letters);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

export function context(deadLetters: DeadLetterSink = new MemoryDeadLetters()): SourceContext {
  return { jobName: 'kafka-it', stepId: 'kafka-it.input', logger: silentLogger(), metrics: new MetricsRegistry(), deadLetters, signal: new AbortController().signal, clock: systemClock };
}

/** Polls until `done` says so or the deadline passes; returns every record polled. */
export async function pollUntil<T>(reader: SourceReader<T, unknown>, done: (all: readonly T[]) => boolean, timeoutMs = 60_000): Promise<T[]> {
  const all: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(all)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms with ${all.length} records`);
    const batch = await reader.poll();
    if (typeof batch === 'object') for (const r of batch.records) all.push(r);
  }
  return all;
}
