import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { CheckpointStore } from '../../../src/runtime/checkpoint-store.js';
import { LocalCheckpointStore } from '../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { DiskKeyedStateBackend } from '../../../src/runtime/state/disk/disk-keyed-state-backend.js';
import { HeapKeyedStateBackend } from '../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import type { StateBackendKind } from '../../../src/runtime/state/state-backend-choice.js';
import { JobRunner } from '../../../src/runtime/execution/job-runner.js';
import { Dataflow } from '../../../src/runtime/graph/dataflow.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../src/runtime/metrics-registry.js';
import { FileDeadLetterSink } from '../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { mulberry32 } from './support/prng.js';
import { countingSource } from './support/counting-source.js';
import { keyedCount, type CountedEvent } from './support/keyed-count.js';
import { TestWarehouse, transactionalTestSink, type TestSinkHooks } from './support/transactional-test-sink.js';

const COUNT = 2_000;
const BATCH = 40;
const KEYS = 7;

class SimulatedCrash extends Error {}

interface CrashPlan {
  /** `upload`: while a keyed-state file is being written, after its first chunk (the asynchronous phase). */
  readonly where: 'poll' | 'write' | 'prepare' | 'commit' | 'upload';
  readonly at: number;
}

interface RunShape {
  readonly twoSources?: boolean;
  readonly backend?: StateBackendKind;
}

/**
 * The real local store, with a crash point inside shared-state writes. It has no worker spec, so
 * keyed state is written inline, where the crash can reach it; small changelog segments and an
 * eager materialization make chains of base and deltas, rebuilt bases, and retention happen.
 */
function crashingStore(dir: string, onUpload: () => void): CheckpointStore {
  const store = new LocalCheckpointStore(join(dir, 'checkpoints'));
  const wrapped = Object.create(store) as CheckpointStore & { spec: undefined };
  Object.defineProperty(wrapped, 'spec', { value: undefined });
  wrapped.writeSharedState = (scope, name, chunks) =>
    store.writeSharedState(
      scope,
      name,
      (async function* () {
        let first = true;
        for await (const chunk of chunks) {
          yield chunk;
          if (first) onUpload();
          first = false;
        }
      })(),
    );
  return wrapped;
}

function runnerFor(dir: string, warehouse: TestWarehouse<CountedEvent>, crash: CrashPlan | undefined, shape: RunShape = {}) {
  const twoSources = shape.twoSources ?? false;
  let runner: JobRunner | undefined;
  let polls = 0;
  let writes = 0;
  let prepares = 0;
  let commits = 0;
  let uploads = 0;
  const maybeCrash = (where: CrashPlan['where'], n: number) => {
    if (crash?.where === where && n === crash.at) {
      runner!.abort(new SimulatedCrash(`crash at ${where} #${n}`));
      throw new SimulatedCrash(`crash at ${where} #${n}`);
    }
  };
  const hooks: TestSinkHooks = {
    onWrite: () => maybeCrash('write', ++writes),
    onPrepare: () => maybeCrash('prepare', ++prepares),
    onCommit: () => maybeCrash('commit', ++commits),
  };
  const flow = new Dataflow('keyed-count');
  const onPoll = () => maybeCrash('poll', ++polls);
  const input = twoSources
    ? flow
        .source('evens', countingSource({ count: COUNT, batchSize: BATCH, keys: KEYS, pollDelayMs: 1, onPoll }))
        .filter('even', (e) => e.id % 2 === 0)
        .union('both', flow.source('odds', countingSource({ count: COUNT, batchSize: BATCH / 2, keys: KEYS, pollDelayMs: 1, onPoll })).filter('odd', (e) => e.id % 2 === 1))
    : flow.source('input', countingSource({ count: COUNT, batchSize: BATCH, keys: KEYS, pollDelayMs: 1, onPoll }));
  input
    .map('tag', (e) => ({ ...e }))
    .filter('all', () => true)
    .keyBy((e) => e.key)
    .apply('count', keyedCount)
    .sink('out', transactionalTestSink(warehouse, hooks));
  const store = crashingStore(dir, () => maybeCrash('upload', ++uploads));
  runner = new JobRunner({
    flow,
    store,
    createKeyedState: (context) => {
      const options = { segmentBytes: 512, materialization: { maxDeltas: 3, maxDeltaRatio: 0.5 } };
      return shape.backend === 'disk' ? new DiskKeyedStateBackend(context, options) : new HeapKeyedStateBackend(context, options);
    },
    stateDir: join(dir, 'state'),
    checkpoint: { intervalMs: 3, retain: 2 },
    capacity: 4,
    metrics: new MetricsRegistry(),
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
  });
  return runner;
}

/** Retention never deleted a file a retained checkpoint references. */
async function assertRetainedFilesExist(dir: string): Promise<void> {
  const store = new LocalCheckpointStore(join(dir, 'checkpoints'));
  for (const checkpoint of await store.listCompleted('keyed-count')) {
    for (const file of checkpoint.metadata.sharedState ?? []) {
      for await (const _chunk of store.readSharedState(file)); // throws when missing or damaged
    }
  }
}

/** Slows the source a little so several checkpoints happen during one run. */
async function runToEnd(runner: JobRunner) {
  return runner.run();
}

function assertExactlyOnce(committed: readonly CountedEvent[]) {
  const ids = committed.map((e) => e.id).sort((a, b) => a - b);
  assert.equal(ids.length, COUNT, `expected ${COUNT} committed records, got ${ids.length}`);
  for (let i = 0; i < COUNT; i++) assert.equal(ids[i], i, `record ${i} missing or duplicated`);
  // Keyed state restored correctly: per key the counts are exactly 1..n.
  const byKey = new Map<string, number[]>();
  for (const e of committed) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.count]);
  for (const [key, counts] of byKey) {
    counts.sort((a, b) => a - b);
    counts.forEach((c, i) => assert.equal(c, i + 1, `key ${key}: count sequence broken at ${i}`));
  }
}

test('a keyed count job without failures commits every record once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eo-'));
  try {
    const warehouse = new TestWarehouse<CountedEvent>();
    const result = await runToEnd(runnerFor(dir, warehouse, undefined));
    assert.ok(result.lastCheckpoint !== undefined);
    assertExactlyOnce(warehouse.committed);
    // The keyed state went through chains: files written at many checkpoints, yet the newest chain stays short (materialized).
    const completed = await new LocalCheckpointStore(join(dir, 'checkpoints')).listCompleted('keyed-count');
    const chain = completed[0]!.metadata.sharedState!;
    const writers = new Set(completed.flatMap((c) => (c.metadata.sharedState ?? []).map((f) => f.name.split('-')[0])));
    assert.ok(writers.size >= 2, `state files of ${writers.size} checkpoints are retained`);
    assert.ok(chain.length >= 1 && chain.length <= 5, `the newest chain has ${chain.length} files`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

for (const backend of ['heap', 'disk'] as const) {
test(`exactly once across 100 seeded crash points between and during checkpoints (${backend} state)`, async () => {
  const random = mulberry32(backend === 'heap' ? 20261125 : 20261203);
  const wheres: CrashPlan['where'][] = ['poll', 'write', 'prepare', 'commit', 'upload'];
  let crashed = 0;
  for (let seed = 0; seed < 100; seed++) {
    const dir = await mkdtemp(join(tmpdir(), `eo-${seed}-`));
    try {
      const warehouse = new TestWarehouse<CountedEvent>();
      const where = wheres[seed % wheres.length]!;
      const at = 1 + Math.floor(random() * (where === 'poll' || where === 'write' ? COUNT / BATCH : 6));
      const first = runnerFor(dir, warehouse, { where, at }, { backend });
      const outcome = await runToEnd(first).then(
        () => 'finished',
        (error: unknown) => {
          if (!(error instanceof SimulatedCrash)) throw error;
          return 'crashed';
        },
      );
      if (outcome === 'crashed') crashed++;
      await sleep(5);
      // A crash loses everything uncommitted; a restart must still deliver each record once.
      await runToEnd(runnerFor(dir, warehouse, undefined, { backend }));
      assertExactlyOnce(warehouse.committed);
      await assertRetainedFilesExist(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  assert.ok(crashed >= 60, `only ${crashed} of 100 runs reached their crash point; the test would prove little`);
});
}

test('exactly once with two sources whose barriers are aligned at a union, across 30 seeded crash points', async () => {
  const random = mulberry32(7);
  const wheres: CrashPlan['where'][] = ['poll', 'write', 'prepare', 'commit'];
  let crashed = 0;
  for (let seed = 0; seed < 30; seed++) {
    const dir = await mkdtemp(join(tmpdir(), `eo-union-${seed}-`));
    try {
      const warehouse = new TestWarehouse<CountedEvent>();
      const where = wheres[seed % wheres.length]!;
      const at = 1 + Math.floor(random() * (where === 'poll' || where === 'write' ? COUNT / BATCH : 6));
      const outcome = await runToEnd(runnerFor(dir, warehouse, { where, at }, { twoSources: true })).then(
        () => 'finished',
        (error: unknown) => {
          if (!(error instanceof SimulatedCrash)) throw error;
          return 'crashed';
        },
      );
      if (outcome === 'crashed') crashed++;
      await sleep(5);
      await runToEnd(runnerFor(dir, warehouse, undefined, { twoSources: true }));
      assertExactlyOnce(warehouse.committed);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  assert.ok(crashed >= 18, `only ${crashed} of 30 runs reached their crash point`);
});
