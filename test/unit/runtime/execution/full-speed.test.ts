/**
 * The runtime under full load: a source that is always ready (its poll never waits) and a sink
 * that never sleeps (its write is synchronous). Checkpoints, timers and stops must still run on
 * time — the task's mailbox loop yields to the event loop between slices of input.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import { Dataflow } from '../../../../src/runtime/graph/dataflow.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { jsonSerializer } from '../../../../src/runtime/serializer.js';
import type { Source } from '../../../../src/runtime/source.js';
import type { Clock } from '../../../../src/runtime/time/clock.js';
import { ManualClock } from '../../../../src/runtime/time/manual-clock.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';
import { keyedCount } from '../support/keyed-count.js';
import { TestWarehouse, transactionalTestSink } from '../support/transactional-test-sink.js';
import type { TwoPhaseCommitSink } from '../../../../src/runtime/sink.js';

interface Event {
  readonly id: number;
  readonly key: string;
}

/** Never runs dry, never waits; records when each barrier was injected (its snapshot is taken right there). */
function alwaysReadySource(clock: Clock, barrierTimes: Map<number, number>, produced: { n: number }): Source<Event, { next: number }> {
  return {
    kind: 'always-ready',
    positionSerializer: jsonSerializer<{ next: number }>(),
    createReader() {
      let next = 0;
      return {
        async open(_ctx, restored) {
          next = restored?.next ?? 0;
        },
        async poll() {
          const records: Event[] = new Array(500);
          for (let i = 0; i < 500; i++) records[i] = { id: next + i, key: `k${(next + i) % 1000}` };
          next += 500;
          produced.n = next;
          return { records };
        },
        snapshot(checkpointId) {
          barrierTimes.set(checkpointId, clock.monotonic());
          return { next };
        },
        notifyCheckpointComplete: async () => undefined,
        close: async () => undefined,
      };
    },
  };
}

/** A synchronous two-phase-commit sink that keeps counts, not records (its commits stay cheap at millions of records). */
function countingSink(committed: { n: number }): TwoPhaseCommitSink<unknown, number> {
  const staged = new Map<number, number>();
  let nextTxn = 1;
  return {
    kind: 'counting',
    committableSerializer: jsonSerializer<number>(),
    async createWriter() {
      let buffered = 0;
      return {
        write(records) {
          buffered += records.length;
        },
        async prepareCommit() {
          if (buffered === 0) return [];
          const txn = nextTxn++;
          staged.set(txn, buffered);
          buffered = 0;
          return [txn];
        },
        async close() {},
      };
    },
    async createCommitter() {
      return {
        async commit(requests) {
          for (const request of requests) {
            for (const txn of request.committables) {
              committed.n += staged.get(txn) ?? 0;
              staged.delete(txn);
            }
          }
        },
        async close() {},
      };
    },
  };
}

async function scratch(): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'full-speed-'));
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}

function runnerFor(flow: Dataflow, dir: string, clock: Clock, intervalMs: number, onDurable: (id: number) => void): JobRunner {
  return new JobRunner({
    flow,
    store: new LocalCheckpointStore(join(dir, 'chk')),
    checkpoint: { intervalMs },
    metrics: new MetricsRegistry({ clock }),
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
    clock,
    onCheckpointDurable: async (checkpoint) => onDurable(checkpoint.metadata.checkpointId),
  });
}

test('an always-ready source and a synchronous sink: checkpoints start on time and timers fire', async () => {
  const { dir, done } = await scratch();
  const intervalMs = 500;
  const barrierTimes = new Map<number, number>();
  const durableTimes = new Map<number, number>();
  const produced = { n: 0 };
  const committed = { n: 0 };
  const flow = new Dataflow('fullspeed');
  flow
    .source('input', alwaysReadySource(systemClock, barrierTimes, produced))
    .keyBy((e) => e.key)
    .apply('count', () => keyedCount())
    .sink('out', countingSink(committed));
  const runner = runnerFor(flow, dir, systemClock, intervalMs, (id) => durableTimes.set(id, systemClock.monotonic()));

  let ticks = 0;
  const ticker = setInterval(() => ticks++, 100);
  const started = performance.now();
  const running = runner.run();
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  const stopAsked = performance.now();
  await runner.stop();
  await running;
  const stopMs = performance.now() - stopAsked;
  clearInterval(ticker);
  const elapsed = performance.now() - started;
  await done();

  const ids = [...barrierTimes.keys()].sort((a, b) => a - b);
  assert.ok(ids.length >= 3, `checkpoints started: ${ids.length}`);
  // The interval runs from one checkpoint's completion to the next one's trigger.
  for (const id of ids.slice(1)) {
    const previousDone = durableTimes.get(id - 1);
    if (previousDone === undefined) continue; // the stop's final checkpoint may follow at once
    const gap = barrierTimes.get(id)! - previousDone;
    if (id === ids[ids.length - 1]) continue; // the stop's checkpoint is triggered, not scheduled
    assert.ok(gap >= intervalMs * 0.8 && gap <= intervalMs * 1.2, `checkpoint ${id} started ${gap.toFixed(1)} ms after ${id - 1} completed (interval ${intervalMs} ms)`);
  }
  const expectedTicks = elapsed / 100;
  assert.ok(ticks >= 0.9 * expectedTicks - 1, `a 100 ms timer fired ${ticks} times in ${elapsed.toFixed(0)} ms`);
  assert.ok(produced.n > 100_000, `the source ran flat out meanwhile (${produced.n} records)`);
  // A stop finishes the checkpoint in flight and takes a final one, and nothing more: the busy source
  // must not hold it up. (How long a checkpoint takes here, with a changelog of millions of increments
  // of 1,000 keys to resolve, depends on the machine and is the bench's to measure.)
  const durations = ids.flatMap((id) => (durableTimes.has(id) ? [durableTimes.get(id)! - barrierTimes.get(id)!] : []));
  const longest = Math.max(...durations);
  assert.ok(stopMs < 2 * longest + 500, `the graceful stop took ${stopMs.toFixed(0)} ms; the longest checkpoint took ${longest.toFixed(0)} ms`);
  assert.equal(committed.n, produced.n, 'every produced record committed once, up to the stop');
});

test('in virtual time, checkpoints trigger exactly when the clock reaches them', async () => {
  const { dir, done } = await scratch();
  const clock = new ManualClock();
  const barrierTimes = new Map<number, number>();
  const durable: number[] = [];
  const flow = new Dataflow('virtual');
  flow.source('input', alwaysReadySource(clock, barrierTimes, { n: 0 })).sink('out', transactionalTestSink(new TestWarehouse<unknown>()));
  const runner = runnerFor(flow, dir, clock, 10_000, (id) => durable.push(id));
  const running = runner.run();
  const settle = async () => {
    for (let i = 0; i < 50 && barrierTimes.size > durable.length; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  await new Promise((resolve) => setTimeout(resolve, 50));
  await clock.advance(9_999);
  await settle();
  assert.equal(barrierTimes.size, 0, 'nothing before the interval');
  await clock.advance(1);
  await settle();
  assert.deepEqual([...barrierTimes.entries()], [[1, 10_000]], 'checkpoint 1 at exactly 10 s');
  await clock.advance(10_000);
  await settle();
  assert.deepEqual([...barrierTimes.keys()], [1, 2]);
  assert.equal(barrierTimes.get(2), 20_000);
  const stopping = runner.stop();
  await stopping;
  await running;
  await done();
  assert.deepEqual(durable, [1, 2, 3]);
});
