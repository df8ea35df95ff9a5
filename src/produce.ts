#!/usr/bin/env node
/**
 * Producer command for trials and tests: writes realistic JSON for a job's input topic, reusing
 * the job's own generator, with a chosen fraction of malformed records.
 *
 *   node dist/produce.js <job> --count N [--rate R] [--bad-fraction F] [--seed S] [--topic T] [--partitions P] [--key-by record|index]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveJobModule } from './cli/job-loader.js';
import { ConfigError, UsageError } from './errors.js';
import { describeSchemaError } from './operators/kafka/json-deserializer.js';
import type { JobInput } from './runtime/job.js';
import { importJobModule } from './runtime/job-module.js';
import { mulberry32 } from './runtime/random.js';
import type { KafkaClient, ProducedMessage } from './operators/kafka/kafka-client.js';
import { KAFKA_SETTINGS, loadKafkaConfig } from './operators/kafka/kafka-config.js';
import { createKafkaClient } from './operators/kafka/kafka-client-factory.js';

/** What a job module must export (as `default`) for the producer: its declared input. */
export interface ProducibleJob {
  readonly input: JobInput;
}

/** What a message is keyed (and so partitioned) by. */
export type ProduceKey = 'record' | 'index';

export interface ProduceOptions {
  readonly job: ProducibleJob;
  readonly client: KafkaClient;
  readonly count: number;
  /** Records per second; unlimited when undefined. */
  readonly rate?: number;
  /** Fraction of records replaced by malformed ones (half broken JSON, half schema-violating). */
  readonly badFraction?: number;
  readonly seed?: number;
  readonly topic?: string;
  /** Partitions when the topic has to be created. */
  readonly partitions?: number;
  /**
   * `record`: the job's `input.key` of the record, as the upstream service would key it (default
   * when the job declares one); `index`: the generator index (malformed records then keep it too).
   */
  readonly keyBy?: ProduceKey;
}

/** What `produce` did; printed as JSON by the CLI. */
export interface ProduceSummary {
  readonly produced: number;
  readonly bad: number;
  /** Indices (the generator's `index`) of the malformed records. */
  readonly badIds?: number[];
  readonly topic: string;
}

const USAGE = `usage: node dist/produce.js <job> --count N [options]

Writes N JSON records for <job>'s input topic using the job's generator
(<job> is a name under dist/jobs, e.g. orders or jobs/orders, or a path to a .js module).

options:
  --count N           records to produce (required)
  --rate R            records per second (default: as fast as possible)
  --bad-fraction F    fraction 0..1 of malformed records: broken JSON and schema-violating JSON (default 0)
  --seed S            seed of the generator's random numbers (default 1)
  --topic T           topic (default: the job's input topic, or KAFKA_TOPIC)
  --partitions P      partitions when creating the topic (default 4)
  --key-by K          message key: record (the job's record key, as its upstream service keys it;
                      default when the job declares one) or index (the generator index)
  --help              this text
${KAFKA_SETTINGS.map((s) => `  --${s.flag.padEnd(20)}${s.description} [env ${s.env}]`).join('\n')}
prints {"produced":N,"bad":B,"badIds":[...],"topic":"..."} on stdout.`;

/** Produces `count` records of the job's input; deterministic for a given seed. */
export async function produce(options: ProduceOptions): Promise<ProduceSummary> {
  const topic = options.topic ?? options.job.input.topic;
  const badFraction = options.badFraction ?? 0;
  const random = mulberry32(options.seed ?? 1);
  // A separate stream decides which records are bad, so good records stay identical whatever the fraction.
  const badRandom = mulberry32(((options.seed ?? 1) ^ 0x5bd1e995) >>> 0);
  const admin = await options.client.admin();
  try {
    await admin.ensureTopic(topic, options.partitions ?? 4);
  } finally {
    await admin.disconnect();
  }
  const producer = options.client.producer();
  await producer.connect();
  const badIds: number[] = [];
  const keyOf = messageKey(options.job.input, options.keyBy);
  const chunkSize = options.rate === undefined ? 5_000 : Math.max(1, Math.min(5_000, Math.ceil(options.rate / 20)));
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  try {
    for (let start = 0; start < options.count; start += chunkSize) {
      const end = Math.min(options.count, start + chunkSize);
      const messages: ProducedMessage[] = [];
      for (let index = start; index < end; index++) {
        const value = options.job.input.generate(index, random);
        let text: string;
        if (badFraction > 0 && badRandom() < badFraction) {
          text = badIds.length % 2 === 0 ? brokenJson(value) : JSON.stringify(schemaViolating(value));
          badIds.push(index);
        } else {
          text = JSON.stringify(value);
        }
        // A malformed record keeps the key of the record it was made from: the service knew its key.
        messages.push({ key: keyOf(index, value), value: text });
      }
      if (options.rate !== undefined) {
        const due = started + (start / options.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const sent: Promise<void> = producer.send(topic, messages).finally(() => inFlight.delete(sent));
      inFlight.add(sent);
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    await producer.disconnect();
  }
  return { produced: options.count, bad: badIds.length, ...(badIds.length > 0 ? { badIds } : {}), topic };
}

/**
 * The message key of generated record `index`: the input's `key` of the record as its schema
 * validates it (so the key function sees what the job sees), or the index.
 */
function messageKey(input: JobInput, keyBy: ProduceKey | undefined): (index: number, value: unknown) => string {
  const recordKey = input.key;
  if (keyBy === 'record' && recordKey === undefined) throw new UsageError('--key-by record: the job declares no input.key');
  if ((keyBy ?? (recordKey ? 'record' : 'index')) === 'index' || recordKey === undefined) return (index) => String(index);
  const schema = input.schema;
  if (schema === undefined) return (_index, value) => recordKey(value);
  return (index, value) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new UsageError(`generator record ${index} violates the job's input schema: ${describeSchemaError(parsed.error)}`);
    return recordKey(parsed.data);
  };
}

/** A proper prefix of an object's JSON text can never parse; wrap scalars in an unclosed object. */
export function brokenJson(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  if (value !== null && typeof value === 'object') return text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  return `{"value":${text}`;
}

/** Valid JSON of the wrong shape: every top-level field gets a value of another type. */
export function schemaViolating(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { unexpected: value ?? null };
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] = typeof field === 'string' ? 12345 : typeof field === 'number' ? 'not-a-number' : typeof field === 'boolean' ? 'maybe' : 'wrong-type';
  }
  if (Object.keys(out).length === 0) out.unexpected = true;
  return out;
}


function parseNumber(flag: string, raw: string | undefined, check: (n: number) => boolean, expected: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${flag} expects ${expected}, got '${raw}'`);
  return n;
}

async function loadJob(spec: string): Promise<ProducibleJob> {
  const url = resolveJobModule(spec);
  let module: { default?: unknown };
  try {
    module = await importJobModule(url);
  } catch (error) {
    throw new UsageError(`cannot load job '${spec}' (${url}): ${error instanceof Error ? error.message : String(error)}`);
  }
  const job = module.default as Partial<ProducibleJob> | undefined;
  if (typeof job?.input?.topic !== 'string' || typeof job.input.generate !== 'function') {
    throw new UsageError(`job '${spec}' has no default export with input.topic and input.generate(index, random)`);
  }
  return job as ProducibleJob;
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        count: { type: 'string' },
        rate: { type: 'string' },
        'bad-fraction': { type: 'string' },
        seed: { type: 'string' },
        topic: { type: 'string' },
        partitions: { type: 'string' },
        'key-by': { type: 'string' },
        help: { type: 'boolean' },
        ...Object.fromEntries(KAFKA_SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
      },
    });
  } catch (error) {
    return usageFailure(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (parsed.positionals.length !== 1) throw new UsageError(`expected exactly one <job>, got ${parsed.positionals.length}`);
    if (values.count === undefined) throw new UsageError('--count is required');
    const str = (name: string) => values[name] as string | undefined;
    const count = parseNumber('count', str('count'), (n) => Number.isInteger(n) && n >= 0, 'a whole number >= 0')!;
    const rate = parseNumber('rate', str('rate'), (n) => n > 0, 'a number > 0');
    const badFraction = parseNumber('bad-fraction', str('bad-fraction'), (n) => n >= 0 && n <= 1, 'a number in 0..1');
    const seed = parseNumber('seed', str('seed'), (n) => Number.isInteger(n), 'an integer');
    const partitions = parseNumber('partitions', str('partitions'), (n) => Number.isInteger(n) && n >= 1 && n <= 10_000, 'a whole number >= 1');
    const keyBy = str('key-by');
    if (keyBy !== undefined && keyBy !== 'record' && keyBy !== 'index') throw new UsageError(`--key-by expects record or index, got '${keyBy}'`);
    const flags = Object.fromEntries(KAFKA_SETTINGS.map((s) => [s.flag, str(s.flag)]));
    const job = await loadJob(parsed.positionals[0]!);
    const config = loadKafkaConfig({ flags, jobName: 'produce' });
    const summary = await produce({
      job,
      client: createKafkaClient(config),
      count,
      rate,
      badFraction,
      seed,
      topic: str('topic') ?? config.topic,
      partitions,
      ...(keyBy === undefined ? {} : { keyBy }),
    });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) return usageFailure(error.message);
    process.stderr.write(`produce: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function usageFailure(message: string): number {
  process.stderr.write(`produce: ${message}\nrun 'node dist/produce.js --help' for usage\n`);
  return 2;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
