/**
 * Keyed state at scale: the embedded orders job (`node dist/run.js jobs/orders --generator-count
 * N`, generator never waits, one subtask per core) with about 1 M and 10 M distinct order ids in
 * its dedup state, on the heap and on the disk backend. Per run: checkpoint duration p50/p99 and
 * its synchronous part, bytes each checkpoint wrote against the full state size, event-loop delay
 * p99, peak RSS. Then a second run on the same work dir restores the state and adds 1 % more
 * records: its restore time and its final checkpoint, which changes few keys (what an almost idle
 * checkpoint writes). Heap and disk runs alternate; medians with min–max over the rounds.
 * Runs below 5 M records checkpoint every 2 s instead of the job's 10 s: since session 14 a 1 M
 * run on the heap ends within 10 s, and it would have no checkpoint while the generator runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchEntry } from './bench-entry.js';
import { formatSpread, interleaved, percentile, runJob, type JobRun } from './job-run.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Generated records for ~1 M and ~10 M distinct order ids (the generator repeats some ids, as order services do). */
const SIZES = (process.env.BENCH_STATE_RECORDS ?? '1040000,10400000').split(',').map(Number);
/** Rounds of the largest size (each run takes minutes). */
const LARGE_ROUNDS = Number(process.env.BENCH_STATE_LARGE_ROUNDS ?? 2);
const BACKENDS = ['heap', 'disk'] as const;
/** Runs of fewer records than this checkpoint every SHORT_INTERVAL_MS (see above). */
const SHORT_INTERVAL_BELOW = 5_000_000;
const SHORT_INTERVAL_MS = 2_000;

interface Pair {
  readonly first: JobRun;
  readonly restore: JobRun | undefined;
}

async function measurePair(records: number, backend: (typeof BACKENDS)[number]): Promise<Pair> {
  const workDir = await mkdtemp(join(tmpdir(), 'bench-keyed-state-'));
  try {
    const env: NodeJS.ProcessEnv = { STATE_BACKEND: backend, STREAMLINE_WORK_DIR: workDir, LOG_LEVEL: 'info', LEASE_TTL_MS: '600000', STOP_TIMEOUT_MS: '600000' };
    for (const name of ['KAFKA_BROKERS', 'TABLE_BUCKET_ARN', 'DYNAMODB_TABLE', 'CHECKPOINT_URI', 'WAREHOUSE', 'FROM_CHECKPOINT', 'METRICS_PORT', 'CHECKPOINT_INTERVAL_MS', 'PARALLELISM']) env[name] = undefined;
    if (records < SHORT_INTERVAL_BELOW) env.CHECKPOINT_INTERVAL_MS = String(SHORT_INTERVAL_MS);
    const first = await runJob(['jobs/orders', '--generator-count', String(records)], env, { timeoutMs: 1_800_000 });
    if (first.exitCode !== 0) return { first, restore: undefined };
    const restore = await runJob(['jobs/orders', '--generator-count', String(Math.round(records * 1.01))], env, { timeoutMs: 1_800_000 });
    return { first, restore };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

const mib = (bytes: number) => bytes / 2 ** 20;

function figures(pairs: readonly Pair[]): Record<string, string> {
  const firsts = pairs.map((p) => p.first);
  const restores = pairs.flatMap((p) => (p.restore?.exitCode === 0 ? [p.restore] : []));
  const all = firsts.flatMap((r) => r.checkpoints.slice(0, -1)); // scheduled checkpoints while the generator runs
  const finalOfRestore = restores.map((r) => r.checkpoints.at(-1)).filter((c) => c !== undefined);
  return {
    'distinct keys (rows committed)': formatSpread(firsts.map((r) => r.committedRows)),
    'seconds, start → last commit': formatSpread(firsts.map((r) => r.lastCommitSeconds ?? Number.NaN), 1),
    'checkpoints while running': String(all.length),
    'checkpoint ms p50 / p99': `${percentile(all.map((c) => c.ms), 50)} / ${percentile(all.map((c) => c.ms), 99)}`,
    'sync part ms p50 / p99': `${percentile(all.map((c) => c.syncMs), 50)} / ${percentile(all.map((c) => c.syncMs), 99)}`,
    'written / full state, median (min–max)': formatSpread(all.filter((c) => c.fullBytes > 0).map((c) => c.writtenBytes / c.fullBytes), 3),
    'full state MiB at the end': formatSpread(firsts.map((r) => mib(r.checkpoints.at(-1)?.fullBytes ?? 0))),
    'event-loop delay p99 ms': formatSpread(firsts.flatMap((r) => (r.loopDelayP99Ms === undefined ? [] : [r.loopDelayP99Ms])), 1),
    'peak RSS MiB': formatSpread(firsts.map((r) => mib(r.peakRssBytes))),
    'restore: seconds from start to restored': formatSpread(restores.flatMap((r) => (r.restoredAt === undefined ? [] : [(r.restoredAt - r.spawnedAt) / 1000])), 2),
    'restore: peak RSS MiB': formatSpread(restores.map((r) => mib(r.peakRssBytes))),
    'after +1 % records: written / full state': formatSpread(finalOfRestore.map((c) => (c.fullBytes > 0 ? c.writtenBytes / c.fullBytes : Number.NaN)), 3),
  };
}

const bench: Bench = async () => {
  const entries: BenchEntry[] = [];
  const failures: string[] = [];
  for (const records of SIZES) {
    const rounds = records === Math.max(...SIZES) && SIZES.length > 1 ? Math.min(ROUNDS, LARGE_ROUNDS) : ROUNDS;
    const results = new Map<string, Pair[]>(BACKENDS.map((b) => [b, []]));
    for (let round = 0; round < rounds; round++) {
      for (const backend of interleaved(BACKENDS, round)) {
        process.stderr.write(`  ${records.toLocaleString('en-US')} records, ${backend}, round ${round + 1}/${rounds} …\n`);
        const pair = await measurePair(records, backend);
        if (pair.first.exitCode !== 0) failures.push(`${backend} ${records}: exit ${pair.first.exitCode} ${pair.first.failure ?? ''}`);
        else if (pair.restore?.exitCode !== 0) failures.push(`${backend} ${records} restore: exit ${pair.restore?.exitCode} ${pair.restore?.failure ?? ''}`);
        if (pair.first.exitCode === 0) results.get(backend)!.push(pair);
      }
    }
    for (const backend of BACKENDS) {
      const pairs = results.get(backend)!;
      if (pairs.length === 0) continue;
      entries.push({ name: `keyed state: orders job, embedded, ${records.toLocaleString('en-US')} records, ${backend} backend`, figures: figures(pairs), note: `${pairs.length} rounds; checkpoint figures pool every scheduled checkpoint of every round${records < SHORT_INTERVAL_BELOW ? `, one every ${SHORT_INTERVAL_MS / 1000} s` : ''}` });
    }
  }
  if (failures.length > 0) {
    entries.push({ name: 'keyed state: FAILED', figures: {}, note: failures.join('; ') });
    process.exitCode = 1;
  }
  return entries;
};

export default bench;
