import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { ConfigError, DependencyUnavailableError, ToleranceExceededError } from '../../../../src/errors.js';
import type { CheckpointStore } from '../../../../src/runtime/checkpoint-store.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { CheckpointFailureTolerance } from '../../../../src/runtime/execution/checkpoint-failure-tolerance.js';
import { compileCheckpointOptions } from '../../../../src/runtime/execution/checkpoint-options.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import { Dataflow } from '../../../../src/runtime/graph/dataflow.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import { countingSource } from '../support/counting-source.js';
import { keyedCount, type CountedEvent } from '../support/keyed-count.js';
import { TestWarehouse, transactionalTestSink } from '../support/transactional-test-sink.js';

/** More than either test reads: they end by stopping the job (or by its failure). */
const COUNT = 1_000_000;

test('the tolerance counts failures in a row and starts over after a completed checkpoint', () => {
  const tolerance = new CheckpointFailureTolerance(2);
  const outage = new DependencyUnavailableError('S3', 'PutObject: connect ECONNREFUSED');
  assert.equal(tolerance.failed(outage), undefined);
  assert.equal(tolerance.failed(outage), undefined);
  tolerance.completed();
  assert.equal(tolerance.consecutive, 0);
  assert.equal(tolerance.failed(outage), undefined);
  assert.equal(tolerance.failed(outage), undefined);
  const error = tolerance.failed(outage);
  assert.ok(error instanceof ToleranceExceededError);
  assert.equal(error.dependency, 'S3');
  assert.match(error.message, /3 checkpoints failed in a row \(CHECKPOINT_TOLERABLE_FAILURES=2\); S3 is unavailable/);
  assert.equal(error.cause, outage);
  assert.equal(new CheckpointFailureTolerance(0).failed(new Error('disk full'))?.dependency, undefined);
});

test('tolerableFailures must be a non-negative number; unset means unlimited', () => {
  assert.equal(compileCheckpointOptions({}).tolerableFailures, Number.POSITIVE_INFINITY);
  assert.equal(compileCheckpointOptions({ tolerableFailures: 0 }).tolerableFailures, 0);
  assert.throws(() => compileCheckpointOptions({ tolerableFailures: -1 }), (e: unknown) => e instanceof ConfigError && /tolerableFailures/.test(e.message));
});

/** The real local store; `_metadata` writes fail as an S3 outage would while `outage()` says so. */
function storeWithOutage(dir: string, outage: (checkpointId: number) => boolean, attempts: number[]): CheckpointStore {
  const store = new LocalCheckpointStore(join(dir, 'checkpoints'));
  const wrapped = Object.create(store) as CheckpointStore;
  wrapped.commitMetadata = async (metadata) => {
    attempts.push(metadata.checkpointId);
    if (outage(metadata.checkpointId)) throw new DependencyUnavailableError('S3', `PutObject ${metadata.checkpointId}/_metadata: connect ECONNREFUSED 127.0.0.1:5055`);
    return store.commitMetadata(metadata);
  };
  return wrapped;
}

function runner(dir: string, warehouse: TestWarehouse<CountedEvent>, store: CheckpointStore, tolerableFailures: number, metrics = new MetricsRegistry()) {
  const flow = new Dataflow('tolerant');
  flow
    .source('input', countingSource({ count: COUNT, batchSize: 10, keys: 5, pollDelayMs: 2 }))
    .keyBy((e) => e.key)
    .apply('count', keyedCount)
    .sink('out', transactionalTestSink(warehouse));
  return new JobRunner({
    flow,
    store,
    createKeyedState: (context) => new HeapKeyedStateBackend(context),
    stateDir: join(dir, 'state'),
    checkpoint: { intervalMs: 5, tolerableFailures },
    capacity: 4,
    metrics,
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
  });
}

test('checkpoints failing during an outage within the tolerance are retried and the job delivers every record once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tolerate-'));
  try {
    const warehouse = new TestWarehouse<CountedEvent>();
    const attempts: number[] = [];
    // Checkpoints 3, 4 and 5 fail (three in a row), then the outage is over.
    const metrics = new MetricsRegistry();
    const job = runner(dir, warehouse, storeWithOutage(dir, (id) => id >= 3 && id <= 5, attempts), 3, metrics);
    const running = job.run();
    // A graceful stop once a checkpoint after the outage was attempted: its final checkpoint commits everything read.
    const deadline = Date.now() + 60_000;
    while (!attempts.some((id) => id > 6) && Date.now() < deadline) await sleep(10);
    await job.stop();
    const result = await running;
    assert.ok(attempts.includes(5) && attempts.some((id) => id > 6), `checkpoints attempted: ${attempts.join(',')}`);
    assert.ok(result.lastCheckpoint !== undefined && result.lastCheckpoint > 6);
    const ids = warehouse.committed.map((e) => e.id).sort((a, b) => a - b);
    assert.ok(ids.length > 0);
    assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i), 'every record read is committed once, none missing');
    assert.match(await metrics.render(), /streamline_checkpoints_failed_total\{job="tolerant"\} 3/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('one failure more than tolerated fails the job with an error naming the dependency', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'intolerable-'));
  try {
    const warehouse = new TestWarehouse<CountedEvent>();
    const attempts: number[] = [];
    const error = await runner(dir, warehouse, storeWithOutage(dir, (id) => id >= 2, attempts), 2).run().then(
      () => assert.fail('the job finished although every checkpoint after the first failed'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ToleranceExceededError, `got ${String(error)}`);
    assert.equal(error.dependency, 'S3');
    assert.match(error.message, /S3 is unavailable/);
    assert.deepEqual(attempts.slice(0, 4), [1, 2, 3, 4], 'the third failure in a row (checkpoint 4) fails the job');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
