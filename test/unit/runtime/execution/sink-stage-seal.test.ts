/**
 * A sink whose writer seals at the barrier: the barrier is acknowledged at once with the pending
 * commits as the asynchronous part, the next checkpoint's records are written while the seal is
 * in flight, and each checkpoint's state holds its own committables and earlier pending ones only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subject } from 'rxjs';
import { PipelineCapacity } from '../../../../src/runtime/execution/pipeline-capacity.js';
import { decodePendingCommits, PENDING_SECTION } from '../../../../src/runtime/execution/pending-commits.js';
import { SinkStage } from '../../../../src/runtime/execution/sink-stage.js';
import type { TaskSnapshot } from '../../../../src/runtime/execution/task-snapshot.js';
import { INPUT_PROCESSED } from '../../../../src/runtime/execution/task-mailbox.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { jsonSerializer } from '../../../../src/runtime/serializer.js';
import type { CommitRequest, Committer, SinkWriter } from '../../../../src/runtime/sink.js';
import type { StreamElement } from '../../../../src/runtime/stream-element.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A writer that records what it got and seals on demand: each seal's files are the records written before it. */
class SealingWriter implements SinkWriter<string, string> {
  written: string[] = [];
  readonly seals: Deferred<readonly string[]>[] = [];
  readonly sealedRecords: string[][] = [];
  write(records: readonly string[]): void {
    this.written.push(...records);
  }
  prepareCommit(): Promise<readonly string[]> {
    throw new Error('a sealing writer is never asked to prepareCommit');
  }
  seal(): Promise<readonly string[]> {
    this.sealedRecords.push(this.written);
    this.written = [];
    const d = deferred<readonly string[]>();
    this.seals.push(d);
    return d.promise;
  }
  async close(): Promise<void> {}
}

const committer: Committer<string> = { commit: async () => undefined, close: async () => undefined };
const tick = () => new Promise((resolve) => setImmediate(resolve));

function stageWith(writer: SealingWriter) {
  const input = new Subject<StreamElement<unknown>>();
  const acks: TaskSnapshot[] = [];
  const stage = new SinkStage(input, 'sink', 'job', writer as SinkWriter<unknown, unknown>, committer as Committer<unknown>, jsonSerializer(), new PipelineCapacity(100), (s) => acks.push(s), new MetricsRegistry(), silentLogger());
  /** Runs the stage's steps until it has nothing to do. */
  const drain = async () => {
    for (;;) {
      const step = stage.step();
      if (step === INPUT_PROCESSED) continue;
      if (typeof step === 'object') {
        await step.until;
        continue;
      }
      return step;
    }
  };
  return { input, acks, stage, drain };
}

const data = (...records: string[]): StreamElement<unknown> => ({ kind: 'data', records });
const barrier = (checkpointId: number): StreamElement<unknown> => ({ kind: 'barrier', checkpointId, timestamp: 0, thenStop: false });

async function pendingOf(snapshot: TaskSnapshot): Promise<CommitRequest<unknown>[]> {
  const part = await snapshot.pending!;
  return decodePendingCommits([...snapshot.sections, ...part.sections].find((s) => s.name === PENDING_SECTION), jsonSerializer(), 'sink');
}

test('a sealing sink acknowledges the barrier at once and keeps writing while the seal is in flight', async () => {
  const writer = new SealingWriter();
  const { input, acks, stage, drain } = stageWith(writer);
  input.next(data('a', 'b'));
  input.next(barrier(1));
  input.next(data('c'));
  input.next(barrier(2));
  input.next(data('d'));
  assert.equal(await drain(), 'idle');
  assert.deepEqual(acks.map((a) => a.checkpointId), [1, 2], 'both barriers acknowledged before any seal finished');
  assert.ok(acks.every((a) => a.pending !== undefined));
  assert.deepEqual(writer.sealedRecords, [['a', 'b'], ['c']]);
  assert.deepEqual(writer.written, ['d'], 'the next checkpoint\'s records went on');

  // The second seal finishing first changes nothing: seals complete in barrier order.
  writer.seals[1]!.resolve(['file-c']);
  await tick();
  let secondDone = false;
  void acks[1]!.pending!.then(() => (secondDone = true));
  await tick();
  assert.equal(secondDone, false, 'checkpoint 2 waits for the seal of checkpoint 1');
  writer.seals[0]!.resolve(['file-ab']);
  assert.deepEqual((await pendingOf(acks[0]!)).map((r) => [r.checkpointId, r.committables]), [[1, ['file-ab']]]);
  assert.deepEqual((await pendingOf(acks[1]!)).map((r) => [r.checkpointId, r.committables]), [[1, ['file-ab']], [2, ['file-c']]]);
  assert.deepEqual(stage.pendingCheckpoints, [1, 2]);

  input.complete();
  assert.equal(await drain(), 'done');
  await stage.done;
});

test('a failed seal fails the checkpoint and the sink; the sink is not done before its last seal', async () => {
  const writer = new SealingWriter();
  const { input, acks, stage, drain } = stageWith(writer);
  input.next(data('a'));
  input.next(barrier(1));
  input.complete();
  assert.equal(await drain(), 'done');
  let done = false;
  stage.done.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  assert.equal(done, false, 'not done while the seal is in flight');
  writer.seals[0]!.reject(new Error('upload failed'));
  await assert.rejects(acks[0]!.pending!, /upload failed/);
  await assert.rejects(stage.done, /upload failed/);
});
