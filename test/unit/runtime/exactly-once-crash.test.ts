import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { CheckpointMetadata, CheckpointStore } from '../../../src/runtime/checkpoint-store.js';
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
  /** Sees the metadata of every checkpoint once it is committed. */
  readonly onCommitted?: (metadata: CheckpointMetadata) => void;
  /** Keyed-state options in place of the crash tests' small segments and eager materialization. */
  readonly stateOptions?: { segmentBytes: number; materialization: { maxDeltas: number; maxDeltaRatio: number } };
  /** May hold the (single) source's next poll back. */
  readonly beforePoll?: (index: number) => Promise<void> | void;
}

/**
 * The real local store, with a crash point inside shared-state writes. It has no worker spec, so
 * keyed state is written inline, where the crash can reach it; small changelog segments and an
 * eager materialization make chains of base and deltas, rebuilt bases, and retention happen.
 */
function crashingStore(dir: string, onUpload: () => void, onCommitted?: (metadata: CheckpointMetadata) => void): CheckpointStore {
  const store = new LocalCheckpointStore(join(dir, 'checkpoints'));
  const wrapped = Object.create(store) as CheckpointStore & { spec: undefined };
  Object.defineProperty(wrapped, 'spec', { value: undefined });
  wrapped.commitMetadata = async (metadata) => {
    const completed = await store.commitMetadata(metadata);
    onCommitted?.(metadata);
    return completed;
  };
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
    : flow.source('input', countingSource({ count: COUNT, batchSize: BATCH, keys: KEYS, pollDelayMs: 1, onPoll, beforePoll: shape.beforePoll }));
  input
    .map('tag', (e) => ({ ...e }))
    .filter('all', () => true)
    .keyBy((e) => e.key)
    .apply('count', keyedCount)
    .sink('out', transactionalTestSink(warehouse, hooks));
  const store = crashingStore(dir, () => maybeCrash('upload', ++uploads), shape.onCommitted);
  runner = new JobRunner({
    flow,
    store,
    createKeyedState: (context) => {
      const options = shape.stateOptions ?? { segmentBytes: 512, materialization: { maxDeltas: 3, maxDeltaRatio: 0.5 } };
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

test('a keyed count job without failures commits every record once, through incremental chains that materialization keeps short', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eo-'));
  try {
    const warehouse = new TestWarehouse<CountedEvent>();
    const chains: string[][] = [];
    const waiting: (() => void)[] = [];
    const onCommitted = (metadata: CheckpointMetadata) => {
      chains.push((metadata.sharedState ?? []).map((f) => f.name));
      for (const wake of waiting.splice(0)) wake();
    };
    // At every tenth of the input (a multiple of the batch size) the source waits for a checkpoint, so at least ten checkpoints carry changes.
    const gates = new Map<number, Promise<void>>();
    const beforePoll = (index: number) => {
      if (index === 0 || index % (COUNT / 10) !== 0) return;
      let gate = gates.get(index);
      if (gate === undefined) {
        const after = chains.length;
        gate = new Promise<void>((resolve) => {
          const check = () => (chains.length > after ? resolve() : waiting.push(check));
          check();
        });
        gates.set(index, gate);
      }
      return gate;
    };
    // One file per checkpoint (segments larger than a checkpoint's changes); a new base after three deltas.
    const stateOptions = { segmentBytes: 1 << 20, materialization: { maxDeltas: 3, maxDeltaRatio: 100 } };
    const result = await runToEnd(runnerFor(dir, warehouse, undefined, { onCommitted, beforePoll, stateOptions }));
    assert.ok(result.lastCheckpoint !== undefined);
    assertExactlyOnce(warehouse.committed);
    await assertRetainedFilesExist(dir);
    // Incremental: a later checkpoint references a file an earlier one wrote, instead of writing the state again.
    const seen = new Set<string>();
    let reused = 0;
    for (const chain of chains) {
      for (const name of chain) if (seen.has(name)) reused++;
      for (const name of chain) seen.add(name);
    }
    assert.ok(reused > 0, `no checkpoint reused a state file of an earlier one (chains: ${JSON.stringify(chains.map((c) => c.length))})`);
    // Materialized: the newest chain starts from a rebuilt base and is shorter than the files written.
    const newest = chains.at(-1)!;
    const firstFile = chains.find((c) => c.length > 0)![0]!;
    assert.ok(newest[0] !== firstFile, 'the newest chain still starts at the first file: no base was rebuilt');
    assert.ok(newest.length < seen.size, `the newest chain has ${newest.length} of the ${seen.size} files written`);
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
