import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import { Dataflow } from '../../../../src/runtime/graph/dataflow.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { jsonSerializer } from '../../../../src/runtime/serializer.js';
import type { TwoPhaseCommitSink } from '../../../../src/runtime/sink.js';
import type { Source } from '../../../../src/runtime/source.js';

/** A source that never runs dry and never waits: each poll makes a fresh 1 MiB batch. */
function infinitelyFastSource(polls: { n: number }): Source<Uint8Array, { n: number }> {
  return {
    kind: 'infinite',
    positionSerializer: jsonSerializer(),
    createReader: () => ({
      open: async () => undefined,
      poll: async () => {
        polls.n++;
        return { records: [new Uint8Array(1024 * 1024).fill(polls.n % 251)] };
      },
      snapshot: () => ({ n: polls.n }),
      notifyCheckpointComplete: async () => undefined,
      close: async () => undefined,
    }),
  };
}

/** A sink that takes 5 ms per batch. */
function slowSink(written: { n: number }): TwoPhaseCommitSink<Uint8Array, never> {
  return {
    kind: 'slow',
    committableSerializer: jsonSerializer(),
    createWriter: async () => ({
      write: async () => {
        await sleep(5);
        written.n++;
      },
      prepareCommit: async () => [],
      close: async () => undefined,
    }),
    createCommitter: async () => ({ commit: async () => undefined, close: async () => undefined }),
  };
}

test('memory stays bounded with an infinitely fast source and a slow sink', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bp-'));
  const polls = { n: 0 };
  const written = { n: 0 };
  const flow = new Dataflow('backpressure');
  flow.source('input', infinitelyFastSource(polls)).map('same', (b) => b).sink('slow', slowSink(written));
  const capacity = 8;
  const runner = new JobRunner({
    flow,
    store: new LocalCheckpointStore(join(dir, 'chk')),
    checkpoint: { intervalMs: 200 },
    capacity,
    metrics: new MetricsRegistry(),
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
  });
  const running = runner.run();
  const baseline = process.memoryUsage().arrayBuffers;
  let maxAhead = 0;
  let maxExtra = 0;
  for (let i = 0; i < 40; i++) {
    await sleep(25);
    maxAhead = Math.max(maxAhead, polls.n - written.n);
    maxExtra = Math.max(maxExtra, process.memoryUsage().arrayBuffers - baseline);
  }
  await runner.stop();
  await running;
  await rm(dir, { recursive: true, force: true });
  assert.ok(written.n > 20, `the sink made progress (${written.n} batches)`);
  // The source may be ahead by the capacity plus the batch in hand, never more.
  assert.ok(maxAhead <= capacity + 2, `source ran ${maxAhead} batches ahead of the sink (capacity ${capacity})`);
  // Without backpressure ~1 s of an infinitely fast source would be gigabytes.
  assert.ok(maxExtra < 64 * 1024 * 1024, `buffers grew by ${(maxExtra / 1048576).toFixed(1)} MiB`);
});
