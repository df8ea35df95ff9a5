import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FencedError } from '../../../../src/errors.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import { Dataflow } from '../../../../src/runtime/graph/dataflow.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import { countingSource } from '../support/counting-source.js';
import { keyedCount, type CountedEvent } from '../support/keyed-count.js';
import { TestWarehouse, transactionalTestSink } from '../support/transactional-test-sink.js';

const COUNT = 500;

/**
 * A bounded job whose only checkpoint is its final one (the interval is far longer than the run):
 * the input ends, the runner stops with a final checkpoint and commits it. `onCommit` sees every
 * commit attempt and may throw.
 */
function boundedJob(dir: string, warehouse: TestWarehouse<CountedEvent>, onCommit: (checkpointId: number) => void) {
  const flow = new Dataflow('final-commit');
  flow
    .source('input', countingSource({ count: COUNT, batchSize: 50, keys: 7, pollDelayMs: 0 }))
    .keyBy((e) => e.key)
    .apply('count', keyedCount)
    .sink('out', transactionalTestSink(warehouse, { onCommit }));
  return new JobRunner({
    flow,
    store: new LocalCheckpointStore(join(dir, 'checkpoints')),
    createKeyedState: (context) => new HeapKeyedStateBackend(context),
    stateDir: join(dir, 'state'),
    checkpoint: { intervalMs: 600_000 },
    capacity: 4,
    metrics: new MetricsRegistry(),
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
  });
}

test('a bounded job whose final commit fails tries it again and ends with every row committed once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'final-commit-'));
  try {
    const warehouse = new TestWarehouse<CountedEvent>();
    const attempts: number[] = [];
    const result = await boundedJob(dir, warehouse, (id) => {
      attempts.push(id);
      if (attempts.length <= 2) throw new Error('catalog unreachable: connect ECONNREFUSED 127.0.0.1:5055');
    }).run();
    assert.equal(attempts.length, 3, `commit attempts: ${attempts.join(',')}`);
    assert.ok(attempts.every((id) => id === result.lastCheckpoint), 'every attempt commits the final checkpoint');
    const ids = warehouse.committed.map((e) => e.id).sort((a, b) => a - b);
    assert.deepEqual(ids, Array.from({ length: COUNT }, (_, i) => i), 'every record committed once, none missing');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a final commit refused by fencing is not tried again: the run fails and commits nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'final-commit-fenced-'));
  try {
    const warehouse = new TestWarehouse<CountedEvent>();
    const attempts: number[] = [];
    const error = await boundedJob(dir, warehouse, (id) => {
      attempts.push(id);
      throw new FencedError('the table was committed by a newer instance (fencing token 7 > 3)');
    })
      .run()
      .then(
        () => assert.fail('the run finished although its final commit was fenced'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof FencedError, `got ${String(error)}`);
    assert.equal(attempts.length, 1);
    assert.deepEqual(warehouse.committed, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
