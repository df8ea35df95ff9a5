/**
 * Busy time per step (`streamline_step_busy_seconds_total`) and backpressure: a step's own time
 * excludes the steps it calls downstream, a sink is busy while its writes are in flight, and a
 * fast source in front of a slow sink is backpressured. Expected times come from what the test's
 * own operators and sinks spend (busy-waits and sleeps), not from the runtime's clocks.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { JobActivity } from '../../../../src/runtime/activity/job-activity.js';
import { JobOverviewSource } from '../../../../src/runtime/console/job-overview.js';
import { MetricSamples } from '../../../../src/runtime/console/metric-samples.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import { StepBusyTimer } from '../../../../src/runtime/execution/step-busy-timer.js';
import { Dataflow } from '../../../../src/runtime/graph/dataflow.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import type { Operator } from '../../../../src/runtime/operator.js';
import { jsonSerializer } from '../../../../src/runtime/serializer.js';
import type { TwoPhaseCommitSink } from '../../../../src/runtime/sink.js';
import type { Clock } from '../../../../src/runtime/time/clock.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';
import { countingSource, type TestEvent } from '../support/counting-source.js';

test('StepBusyTimer: a step keeps its own time; what it called downstream is the callee\'s', () => {
  let now = 0;
  const clock = { monotonic: () => now } as unknown as Clock;
  const timer = new StepBusyTimer(clock);
  const source = { ms: 0 };
  const map = { ms: 0 };
  const sink = { ms: 0 };
  const s = timer.enter(); // 0
  now = 1;
  const m = timer.enter(); // 1
  now = 4;
  const k1 = timer.enter(); // 4
  now = 6;
  timer.exit(sink, k1); // sink 2
  now = 7;
  const k2 = timer.enter(); // 7: a second call into the sink from the same batch
  now = 10;
  timer.exit(sink, k2); // sink 5
  now = 11;
  timer.exit(map, m); // map: 10 - 5 in the sink = 5
  now = 12;
  timer.exit(source, s); // source: 12 - 10 in map and sink = 2
  assert.deepEqual([source.ms, map.ms, sink.ms], [2, 5, 5]);
  // The stack is back at the top: the next step starts afresh.
  const again = timer.enter();
  now = 15;
  timer.exit(source, again);
  assert.equal(source.ms, 5);
});

/** Busy-waits for `ms` (CPU work on the task's loop). */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Passes batches through after spinning `ms` per batch; counts what it spent. */
function spinningOperator(ms: number, spent: { ms: number }): Operator<TestEvent, TestEvent> {
  return {
    open() {},
    processBatch(records, out) {
      const started = performance.now();
      spin(ms);
      spent.ms += performance.now() - started;
      out.emit(records);
    },
  };
}

/** A sink whose writes take `writeMs` (asynchronously: the loop is free meanwhile). */
function sleepingSink(writeMs: number, spent: { ms: number }): TwoPhaseCommitSink<unknown, never> {
  return {
    kind: 'sleeping',
    committableSerializer: jsonSerializer(),
    createWriter: async () => ({
      write: async () => {
        const started = performance.now();
        if (writeMs > 0) await sleep(writeMs);
        spent.ms += performance.now() - started;
      },
      prepareCommit: async () => [],
      close: async () => undefined,
    }),
    createCommitter: async () => ({ commit: async () => undefined, close: async () => undefined }),
  };
}

async function run(flow: Dataflow, dir: string, metrics: MetricsRegistry, activity?: JobActivity): Promise<number> {
  const started = performance.now();
  await new JobRunner({
    flow,
    store: new LocalCheckpointStore(join(dir, 'checkpoints')),
    checkpoint: { intervalMs: 60_000 },
    metrics,
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
    ...(activity ? { activity } : {}),
  }).run();
  return performance.now() - started;
}

test('busy time per step: a CPU-heavy operator is busy, the source that calls it is not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'busy-'));
  try {
    const spent = { ms: 0 };
    const written = { ms: 0 };
    const flow = new Dataflow('busy');
    flow
      .source('input', countingSource({ count: 20_000, batchSize: 100, keys: 10 }))
      .apply('heavy', () => spinningOperator(2, spent), false)
      .map('light', (e) => e)
      .sink('out', sleepingSink(0, written));
    const metrics = new MetricsRegistry();
    await run(flow, dir, metrics);
    const samples = new MetricSamples(await metrics.collect());
    const busy = (step: string) => (samples.sum('streamline_step_busy_seconds_total', { job: 'busy', operator: `busy.${step}` }) ?? NaN) * 1000;
    const heavy = busy('heavy');
    assert.ok(spent.ms >= 200 * 2, `the operator spun ${spent.ms} ms`);
    assert.ok(heavy >= spent.ms * 0.98 && heavy <= spent.ms * 1.5 + 20, `heavy step busy ${heavy} ms, it spun ${spent.ms} ms`);
    // Without subtracting downstream time the source (which calls every step) would show more than the operator.
    assert.ok(busy('input') < heavy * 0.25, `source busy ${busy('input')} ms vs heavy ${heavy} ms`);
    assert.ok(busy('light') < heavy * 0.25, `light map busy ${busy('light')} ms vs heavy ${heavy} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a slow sink is busy and the fast source in front of it backpressured; the overview says so per step', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'busy-bp-'));
  try {
    const written = { ms: 0 };
    const flow = new Dataflow('slow');
    flow
      .source('input', countingSource({ count: 12_000, batchSize: 100, keys: 10 }))
      .map('same', (e) => e)
      .sink('out', sleepingSink(5, written));
    const metrics = new MetricsRegistry();
    const activity = new JobActivity('slow', systemClock);
    const wallMs = await run(flow, dir, metrics, activity);
    const overview = await new JobOverviewSource(flow, metrics, activity, systemClock).sample();
    const step = (name: string) => overview.steps.find((s) => s.name === name)!;
    const sinkBusyMs = step('out').busySeconds * 1000;
    // Writes run one at a time: the sink is busy at least for as long as they slept.
    assert.ok(sinkBusyMs >= written.ms * 0.98, `sink busy ${sinkBusyMs} ms, its writes took ${written.ms} ms`);
    assert.ok(sinkBusyMs >= wallMs * 0.6, `sink busy ${sinkBusyMs} ms of a ${wallMs} ms run`);
    const waitedMs = step('input').backpressureSeconds * 1000;
    assert.ok(waitedMs >= wallMs * 0.4, `source waited ${waitedMs} ms of a ${wallMs} ms run for the sink`);
    assert.equal(step('same').backpressureSeconds, step('input').backpressureSeconds, 'a chained operator waits with its source');
    assert.equal(step('out').backpressureSeconds, 0);
    assert.equal(step('input').recordsOut, 12_000);
    assert.equal(step('out').recordsIn, 12_000);
    assert.deepEqual(
      overview.steps.map((s) => [s.id, s.kind, s.inputs]),
      [
        ['slow.input', 'source', []],
        ['slow.same', 'operator', ['slow.input']],
        ['slow.out', 'sink', ['slow.same']],
      ],
    );
    assert.equal(overview.parallelism, 1);
    const final = overview.checkpoints.history.at(-1);
    assert.equal(final?.status, 'completed');
    assert.equal(final?.final, true, 'the end of input takes a final checkpoint');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
