/**
 * The orders job end to end over a pre-produced Kafka topic, as a user runs a backfill: 1 M
 * messages in 6 partitions (the order service's JSON, 1 % malformed), `node dist/run.js
 * jobs/orders` with KAFKA_STOP_AT=end into the local warehouse, timed from process start to the
 * last Iceberg commit. Variants: parallelism 1 and one subtask per core, with each Kafka client,
 * and with kafkajs one subtask per core with KEYED_EXCHANGE=always (the dedup step's records
 * exchanged by key instead of kept in their partition's subtask, as before session 14);
 * beside them, in the same rounds, each client's raw consume loop that JSON.parses every message
 * (bench/raw-kafka-loops.ts) — the ceiling. Every variant runs once per round, the order rotated
 * each round; figures are medians with min–max over the rounds. Each job run must commit every
 * distinct valid order exactly once (counted from the topic by the bench, not by the job).
 */
import { availableParallelism } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchEntry } from './bench-entry.js';
import { checkpointStartJitter, formatSpread, interleaved, percentile, runJob, type JobRun } from './job-run.js';
import { rawKafkaJsLoop, rawPlatformaticLoop, type RawLoopResult } from './raw-kafka-loops.js';
import { ensureServices, uniqueName } from '../test/helpers/services.js';
import { createTopic, expectedOrderIds, produceOrders, readTopic } from '../test/integration/operations/support/job-harness.js';

const MESSAGES = Number(process.env.BENCH_KAFKA_MESSAGES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTITIONS = 6;
const CHECKPOINT_INTERVAL_MS = 10_000;
const CLIENTS = ['kafkajs', 'platformatic'] as const;
type Client = (typeof CLIENTS)[number];

type Variant = { kind: 'job'; client: Client; parallelism: number; exchangeAlways?: true } | { kind: 'raw'; client: Client };

const label = (v: Variant) =>
  v.kind === 'raw' ? `raw ${v.client} loop + JSON.parse` : `job, ${v.client}, parallelism ${v.parallelism}${v.exchangeAlways ? ', KEYED_EXCHANGE=always' : ''}`;

async function jobRun(brokers: readonly string[], topic: string, v: Extract<Variant, { kind: 'job' }>): Promise<JobRun> {
  const workDir = await mkdtemp(join(tmpdir(), 'bench-orders-kafka-'));
  try {
    const env: NodeJS.ProcessEnv = {
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('bench-orders-grp-'),
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      KAFKA_STOP_AT: 'end',
      KAFKA_CLIENT: v.client,
      PARALLELISM: String(v.parallelism),
      KEYED_EXCHANGE: v.exchangeAlways ? 'always' : 'declared',
      CHECKPOINT_INTERVAL_MS: String(CHECKPOINT_INTERVAL_MS),
      STREAMLINE_WORK_DIR: workDir,
      LOG_LEVEL: 'info',
    };
    for (const name of ['TABLE_BUCKET_ARN', 'DYNAMODB_TABLE', 'CHECKPOINT_URI', 'WAREHOUSE', 'FROM_CHECKPOINT', 'GENERATOR_COUNT', 'METRICS_PORT', 'STATE_BACKEND']) env[name] = undefined;
    return await runJob(['jobs/orders'], env);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * One raw loop in this process, which does nothing else meanwhile: its CPU time (every thread, V8's
 * garbage-collection helpers included) comes from `process.cpuUsage`, up to the consumer's close.
 */
async function rawRun(brokers: readonly string[], topic: string, client: Client): Promise<{ seconds: number; messages: number; cpuSeconds: number }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const result: RawLoopResult = client === 'kafkajs' ? await rawKafkaJsLoop(brokers, topic) : await rawPlatformaticLoop(brokers, topic);
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (result.lastMs - t0) / 1000, messages: result.messages, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const bench: Bench = async () => {
  const { kafkaBrokers: brokers } = await ensureServices({ kafka: true });
  const topic = uniqueName('bench-orders-1m-');
  await createTopic(brokers, topic, PARTITIONS);
  process.stderr.write(`  producing ${MESSAGES.toLocaleString('en-US')} orders to ${topic} …\n`);
  const produced = await produceOrders(brokers, topic, { count: MESSAGES, seed: 7, badFraction: 0.01, partitions: PARTITIONS, keyBy: 'record' });
  const expected = expectedOrderIds(await readTopic(brokers, topic), produced.badIds).size;
  const cores = availableParallelism();

  const variants: Variant[] = [];
  for (const client of CLIENTS) {
    variants.push({ kind: 'raw', client });
    for (const parallelism of [...new Set([1, cores])]) variants.push({ kind: 'job', client, parallelism });
    if (client === 'kafkajs' && cores > 1) variants.push({ kind: 'job', client, parallelism: cores, exchangeAlways: true });
  }
  const jobs = new Map<string, JobRun[]>();
  const raws = new Map<string, number[]>();
  /** CPU-seconds per million messages of each raw loop run. */
  const rawCpu = new Map<string, number[]>();
  /** Per round: messages/s of each variant, for ratios taken within the round. */
  const rounds: Map<string, number>[] = [];
  const failures: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rates = new Map<string, number>();
    for (const v of interleaved(variants, round)) {
      process.stderr.write(`  round ${round + 1}/${ROUNDS}: ${label(v)} …\n`);
      if (v.kind === 'raw') {
        const r = await rawRun(brokers, topic, v.client);
        if (r.messages !== MESSAGES) failures.push(`${label(v)} read ${r.messages} of ${MESSAGES} messages`);
        rates.set(label(v), MESSAGES / r.seconds);
        raws.set(label(v), [...(raws.get(label(v)) ?? []), MESSAGES / r.seconds]);
        rawCpu.set(label(v), [...(rawCpu.get(label(v)) ?? []), r.cpuSeconds / (MESSAGES / 1e6)]);
        continue;
      }
      const run = await jobRun(brokers, topic, v);
      if (run.exitCode !== 0 || run.lastCommitSeconds === undefined) {
        failures.push(`${label(v)} round ${round + 1}: exit ${run.exitCode} ${run.failure ?? ''}`);
        continue;
      }
      if (run.committedRows !== expected) failures.push(`${label(v)} round ${round + 1}: committed ${run.committedRows} rows, expected ${expected} distinct valid orders`);
      rates.set(label(v), MESSAGES / run.lastCommitSeconds);
      jobs.set(label(v), [...(jobs.get(label(v)) ?? []), run]);
    }
    rounds.push(rates);
  }

  const ratio = (a: string, b: string) => rounds.flatMap((r) => (r.has(a) && r.has(b) ? [r.get(a)! / r.get(b)!] : []));
  const entries: BenchEntry[] = [];
  for (const client of CLIENTS) {
    const raw = label({ kind: 'raw', client });
    entries.push({
      name: `orders over Kafka: ${raw}`,
      figures: { 'messages/s': formatSpread(raws.get(raw) ?? []), 'CPU-s per M messages': formatSpread(rawCpu.get(raw) ?? [], 1) },
      note: 'connect and group join to the last message, whole topic, fresh group; CPU of every thread of the bench process meanwhile',
    });
    const jobVariants = variants.filter((v): v is Extract<Variant, { kind: 'job' }> => v.kind === 'job' && v.client === client);
    for (const v of jobVariants) {
      const { parallelism } = v;
      const name = label(v);
      const runs = jobs.get(name) ?? [];
      const figures: Record<string, string> = {
        'messages/s, start → last commit': formatSpread(runs.map((r) => MESSAGES / r.lastCommitSeconds!)),
        'ratio to the raw loop (same round)': formatSpread(ratio(name, raw), 2),
        'CPU-s per M messages': formatSpread(runs.map((r) => r.cpuSeconds / (MESSAGES / 1e6)), 1),
        // CPU per message against the raw loop's median in this run: what the job spends beyond the client and JSON.parse.
        'CPU per message, times the raw loop\'s': formatSpread(runs.map((r) => r.cpuSeconds / (MESSAGES / 1e6) / percentile(rawCpu.get(raw) ?? [], 50)), 1),
        'peak RSS MiB': formatSpread(runs.map((r) => r.peakRssBytes / 2 ** 20)),
        'event-loop delay p99 ms': formatSpread(runs.flatMap((r) => (r.loopDelayP99Ms === undefined ? [] : [r.loopDelayP99Ms])), 1),
        'checkpoint ms p50 / p99': `${formatSpread(runs.map((r) => percentile(r.checkpoints.map((c) => c.ms), 50)))} / ${formatSpread(runs.map((r) => percentile(r.checkpoints.map((c) => c.ms), 99)))}`,
        'checkpoint start jitter, max % of interval': formatSpread(runs.map((r) => 100 * Math.max(0, ...checkpointStartJitter(r.checkpoints, CHECKPOINT_INTERVAL_MS, true))), 1),
      };
      if (parallelism !== 1) figures[`ratio to parallelism 1 (same round)`] = formatSpread(ratio(name, label({ kind: 'job', client, parallelism: 1 })), 2);
      if (v.exchangeAlways) figures['ratio to KEYED_EXCHANGE=declared (same round)'] = formatSpread(ratio(name, label({ kind: 'job', client, parallelism })), 2);
      entries.push({ name: `orders over Kafka: ${name}`, figures, note: `${runs.length} runs; ${expected.toLocaleString('en-US')} distinct valid orders committed exactly once in each` });
    }
  }
  if (failures.length > 0) {
    entries.push({ name: 'orders over Kafka: FAILED', figures: {}, note: failures.join('; ') });
    process.exitCode = 1;
  }
  return entries;
};

export default bench;
