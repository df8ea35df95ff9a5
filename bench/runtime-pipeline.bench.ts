import { JobRunner } from '../src/runtime/execution/job-runner.js';
import { Dataflow } from '../src/runtime/graph/dataflow.js';
import type { Logger } from '../src/runtime/logger.js';
import { MetricsRegistry } from '../src/runtime/metrics-registry.js';
import type { Operator } from '../src/runtime/operator.js';
import { jsonSerializer } from '../src/runtime/serializer.js';
import type { Source } from '../src/runtime/source.js';
import type { TwoPhaseCommitSink } from '../src/runtime/sink.js';
import { LocalCheckpointStore } from '../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../src/runtime/dead-letters/file-dead-letter-sink.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchEntry } from './bench-entry.js';
import { checkpointStartJitter, spread, type LoggedCheckpoint } from './job-run.js';

interface Click {
  readonly user: string;
  readonly amount: number;
  readonly kind: number;
}
interface Scored {
  readonly user: string;
  readonly cents: number;
  readonly kind: number;
}

const BATCH = 2_000;
const DISTINCT_BATCHES = 50;
const KEYS = 10_000;

/** The same pre-built arrays feed both the pipeline and the for-loop ceiling. */
function prebuiltBatches(): Click[][] {
  let seed = 42;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: DISTINCT_BATCHES }, () =>
    Array.from({ length: BATCH }, () => ({ user: `u${Math.floor(next() * KEYS)}`, amount: next() * 100, kind: Math.floor(next() * 4) })),
  );
}

const toScored = (c: Click): Scored => ({ user: c.user, cents: Math.round(c.amount * 100), kind: c.kind });
const keep = (s: Scored): boolean => s.kind !== 3;

/** Splits of the split-tagged variant: batch `n` comes from split `n % SPLITS`, and so do all its keys. */
const SPLITS = 8;

/** Batches as a partitioned topic delivers them: each from one split, whose keys are only in that split. */
function prebuiltSplitBatches(): Click[][] {
  let seed = 42;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: DISTINCT_BATCHES }, (_, n) =>
    Array.from({ length: BATCH }, () => ({ user: `u${Math.floor(next() * (KEYS / SPLITS)) * SPLITS + (n % SPLITS)}`, amount: next() * 100, kind: Math.floor(next() * 4) })),
  );
}

function replaySource(batches: Click[][], total: number, tagSplits = false): Source<Click, { n: number }> {
  return {
    kind: 'replay',
    positionSerializer: jsonSerializer(),
    createReader() {
      let n = 0;
      return {
        open: async () => undefined,
        poll: async () => {
          if (n * BATCH >= total) return 'end' as const;
          const records = batches[n % batches.length]!;
          const split = `t:${n % batches.length % SPLITS}`;
          n++;
          return tagSplits ? { records, split } : { records };
        },
        snapshot: () => ({ n }),
        notifyCheckpointComplete: async () => undefined,
        close: async () => undefined,
      };
    },
  };
}

function keyedCount(): Operator<Scored, number> {
  return {
    open(ctx) {
      const keyed = ctx.keyedState!;
      const count = keyed.valueState<number>({ name: 'count' });
      this.processBatch = (records, out) => {
        const result = new Array<number>(records.length);
        for (let i = 0; i < records.length; i++) {
          keyed.setCurrentKey(records[i]!.user);
          const c = (count.get() ?? 0) + 1;
          count.set(c);
          result[i] = c;
        }
        out.emit(result);
      };
    },
    processBatch() {},
  };
}

function discardSink(counter: { n: number }): TwoPhaseCommitSink<number, never> {
  return {
    kind: 'discard',
    committableSerializer: jsonSerializer(),
    createWriter: async () => ({
      write: (records) => {
        counter.n += records.length;
      },
      prepareCommit: async () => [],
      close: async () => undefined,
    }),
    createCommitter: async () => ({ commit: async () => undefined, close: async () => undefined }),
  };
}

/** Checkpoints the runner logged as complete (a pino logger writing into this list). */
function checkpointLog(): { logger: Logger; checkpoints: LoggedCheckpoint[] } {
  const checkpoints: LoggedCheckpoint[] = [];
  const logger = pino({ level: 'info' }, {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; time: number; checkpoint: number; ms: number; syncMs?: number; writtenBytes?: number; fullBytes?: number };
      if (entry.msg === 'checkpoint complete') {
        checkpoints.push({ id: entry.checkpoint, startedAt: entry.time - entry.ms, ms: entry.ms, syncMs: entry.syncMs ?? 0, writtenBytes: entry.writtenBytes ?? 0, fullBytes: entry.fullBytes ?? 0 });
      }
    },
  });
  return { logger, checkpoints };
}

async function pipelineRate(batches: Click[][], total: number, tagSplits = false): Promise<{ rate: number; out: number; loopDelayP99Ms: number; jitter: number[]; checkpointMs: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rt-'));
  try {
    const counter = { n: 0 };
    const log = checkpointLog();
    const flow = new Dataflow('bench');
    flow
      .source('gen', replaySource(batches, total, tagSplits))
      .map('score', toScored)
      .filter('drop-kind-3', keep)
      .keyBy((s) => s.user)
      .apply('count', keyedCount)
      .sink('discard', discardSink(counter));
    const runner = new JobRunner({
      flow,
      store: new LocalCheckpointStore(join(dir, 'chk')),
      checkpoint: { intervalMs: 1_000 },
      metrics: new MetricsRegistry(),
      logger: log.logger,
      deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
    });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    await runner.run();
    const seconds = (performance.now() - started) / 1000;
    delay.disable();
    return { rate: total / seconds, out: counter.n, loopDelayP99Ms: delay.percentile(99) / 1e6, jitter: checkpointStartJitter(log.checkpoints, 1_000, true), checkpointMs: log.checkpoints.map((c) => c.ms) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ceiling: the same map, filter and per-key count as a plain loop over the same arrays. */
function forLoopRate(batches: Click[][], total: number): { rate: number; out: number } {
  const counts = new Map<string, number>();
  let out = 0;
  const started = performance.now();
  for (let n = 0; n * BATCH < total; n++) {
    const batch = batches[n % batches.length]!;
    for (let i = 0; i < batch.length; i++) {
      const s = toScored(batch[i]!);
      if (!keep(s)) continue;
      counts.set(s.user, (counts.get(s.user) ?? 0) + 1);
      out++;
    }
  }
  return { rate: total / ((performance.now() - started) / 1000), out };
}

const bench: Bench = async () => {
  const batches = prebuiltBatches();
  const total = 24_000_000;
  await pipelineRate(batches, 400_000); // warm-up (JIT)
  forLoopRate(batches, 400_000);
  const ours = await pipelineRate(batches, total);
  const ceiling = forLoopRate(batches, total);
  if (ours.out !== ceiling.out) throw new Error(`pipeline emitted ${ours.out} records, the loop ${ceiling.out}`);
  // Split tracking (what lets keyed state follow Kafka partitions): the same split-shaped input with and without split tags.
  const splitBatches = prebuiltSplitBatches();
  await pipelineRate(splitBatches, 400_000, true);
  const untagged = await pipelineRate(splitBatches, total, false);
  const tagged = await pipelineRate(splitBatches, total, true);
  const entries: BenchEntry[] = [
    {
      name: 'runtime: replay source → map → filter → keyBy → keyed count → discard',
      figures: {
        'records/s': Math.round(ours.rate),
        'for-loop records/s': Math.round(ceiling.rate),
        'ratio to for-loop': Number((ours.rate / ceiling.rate).toFixed(3)),
        'event-loop delay p99 ms': Number(ours.loopDelayP99Ms.toFixed(1)),
        'checkpoints': ours.jitter.length + 1,
        'checkpoint start jitter, max % of interval': Number((100 * Math.max(0, ...ours.jitter)).toFixed(1)),
        // 10,000 hot keys written ~3 M times a second: what a checkpoint of such state costs.
        'checkpoint ms median': ours.checkpointMs.length === 0 ? 0 : spread(ours.checkpointMs).median,
        'checkpoint ms max': Math.max(0, ...ours.checkpointMs),
      },
      note: `${total.toLocaleString('en-US')} records in batches of ${BATCH}, ${KEYS.toLocaleString('en-US')} keys, checkpoints every 1 s, one process`,
    },
    {
      name: 'runtime: the same pipeline with batches tagged by source split (keyed state attributed to Kafka partitions)',
      figures: {
        'records/s with splits': Math.round(tagged.rate),
        'records/s without': Math.round(untagged.rate),
        'ratio with/without': Number((tagged.rate / untagged.rate).toFixed(3)),
      },
      note: `${SPLITS} splits, every key in one split; the cost of what lets state move with partitions (SCALE_OUT=group)`,
    },
  ];
  return entries;
};

export default bench;
