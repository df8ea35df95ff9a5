/**
 * Snapshot workers: the write lane's thread stays for the next checkpoint; the materialization
 * lane's ends after each materialization (it would hold its grown heap while idle) and the next
 * one starts a new thread; a keyed backend starts the write lane when it is made; the subtasks of
 * a process write their deltas and materialize on one shared worker (SnapshotWorkerHost), and
 * lose only what was in flight when it ends. What they write restores to what was written.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { ChangelogWriter } from '../../../../src/runtime/state/changelog/changelog-writer.js';
import { snapshotFileName, type SnapshotJob } from '../../../../src/runtime/state/snapshot/snapshot-files.js';
import { emptyChain, type StateChain } from '../../../../src/runtime/state/snapshot/state-chain.js';
import { MaterializationPermit } from '../../../../src/runtime/state/snapshot/materialization-permit.js';
import { WorkerSnapshotFileWriter } from '../../../../src/runtime/state/snapshot/worker-snapshot-file-writer.js';
import { SnapshotWorkerHost } from '../../../../src/runtime/state/snapshot/snapshot-worker-host.js';
import { StateLostError } from '../../../../src/runtime/state/snapshot/state-snapshot-error.js';
import { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';
import { BackendFactory, valuesOf } from './support/backend-factory.js';

const states = [{ name: 'n', kind: 'value' as const, ttlMs: null }];

function job(checkpointId: number, chain: StateChain, entries: [string, number][], materialize: boolean): SnapshotJob {
  const log = new ChangelogWriter();
  for (const [key, value] of entries) log.set(0, -1, key, undefined, undefined, value);
  return {
    taskId: 'job.op',
    scope: 'job',
    checkpointId,
    maxParallelism: 128,
    states,
    splits: [],
    logs: [log.detach()],
    chain,
    ...(materialize ? { materialize: [{ chain }] } : {}),
    now: 0,
    fileName: snapshotFileName(checkpointId, 'job.op'),
  };
}

test('the materialization lane lets its worker go after each job; the write lane keeps its own', async (t) => {
  if (!WorkerSnapshotFileWriter.isAvailable()) return t.skip('compiled snapshot worker not built');
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-workers-'));
  const store = new LocalCheckpointStore(dir);
  const writer = new WorkerSnapshotFileWriter(store.spec!);
  try {
    const base = await writer.write(job(1, emptyChain(128), [['a', 1], ['b', 2]], true), 'materialize');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(writer.runningLanes, [], 'the materialization worker ended');
    const delta = await writer.write(job(2, base.chain, [['b', 3], ['c', 4]], false), 'write');
    assert.deepEqual(writer.runningLanes, ['write']);
    const merged = await writer.write(job(3, delta.chain, [['d', 5]], true), 'materialize');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(writer.runningLanes, ['write'], 'a new materialization worker ran and ended');
    assert.equal(merged.chain.files.length, 1, 'one new base');
    const restored = new BackendFactory(undefined, store).heap();
    await restored.restore([{ kind: 'chain', input: { chain: merged.chain } }]);
    assert.deepEqual(valuesOf(restored, 'n'), new Map([['a', 1], ['b', 3], ['c', 4], ['d', 5]]));
  } finally {
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('subtasks sharing a materialization permit materialize one after the other; a writer closed while waiting writes nothing', async (t) => {
  if (!WorkerSnapshotFileWriter.isAvailable()) return t.skip('compiled snapshot worker not built');
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-permit-'));
  const store = new LocalCheckpointStore(dir);
  const buffer = MaterializationPermit.newBuffer();
  const permit = (ms = 5) => new MaterializationPermit(buffer, systemClock, ms);
  const first = new WorkerSnapshotFileWriter(store.spec!, permit());
  const second = new WorkerSnapshotFileWriter(store.spec!, permit());
  const third = new WorkerSnapshotFileWriter(store.spec!, permit());
  try {
    // Another subtask holds the permit: neither materialization may start.
    const other = (await permit().acquire(new AbortController().signal))!;
    const order: string[] = [];
    const a = first.write(job(1, emptyChain(128), [['a', 1]], true), 'materialize').then((r) => (order.push('first'), r));
    const b = second.write(job(1, emptyChain(128), [['b', 2]], true), 'materialize').then((r) => (order.push('second'), r));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(order, [], 'both wait while another subtask materializes');
    assert.deepEqual([...first.runningLanes, ...second.runningLanes], [], 'no materialization thread started');
    // The writes lane never waits for the permit.
    const written = await first.write(job(2, emptyChain(128), [['w', 1]], false), 'write');
    assert.ok(written.written, 'the write lane wrote while the materializations waited');
    assert.deepEqual(order, []);
    other();
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(order.length, 2);
    assert.ok(ra.written && rb.written, 'both wrote a base once the permit was free');
    // Closed while waiting: resolves without writing, and lets nothing leak.
    const held = (await permit().acquire(new AbortController().signal))!;
    const waiting = third.write(job(3, emptyChain(128), [['c', 3]], true), 'materialize');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await third.close();
    const result = await waiting;
    assert.equal(result.written, undefined);
    held();
    assert.ok(await permit().acquire(new AbortController().signal), 'the permit is free afterwards');
  } finally {
    await Promise.all([first.close(), second.close(), third.close()]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a keyed backend starts its write lane before its first checkpoint; the first write goes to that thread', async (t) => {
  if (!WorkerSnapshotFileWriter.isAvailable()) return t.skip('compiled snapshot worker not built');
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-prestart-'));
  const store = new LocalCheckpointStore(dir);
  const writer = new WorkerSnapshotFileWriter(store.spec!);
  try {
    assert.deepEqual(writer.runningLanes, []);
    const backend = new HeapKeyedStateBackend({ ...new BackendFactory(undefined, store).context(), writer });
    assert.deepEqual(writer.runningLanes, ['write'], 'the backend started the write lane when it was made');
    const written = await writer.write(job(1, emptyChain(128), [['a', 1]], false), 'write');
    assert.ok(written.written, 'the started thread wrote the first delta');
    assert.deepEqual(writer.runningLanes, ['write'], 'still one thread for the lane');
    await backend.close();
  } finally {
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the subtasks of a process write their deltas on one shared worker; when it ends, what was in flight is lost and later writes go to a worker of their own', async (t) => {
  if (!WorkerSnapshotFileWriter.isAvailable()) return t.skip('compiled snapshot worker not built');
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-shared-'));
  const store = new LocalCheckpointStore(dir);
  const lost: Error[] = [];
  const host = new SnapshotWorkerHost((error) => lost.push(error));
  assert.equal(host.running, false, 'no worker before a subtask connects');
  const writers = [new WorkerSnapshotFileWriter(store.spec!, undefined, host.connect()), new WorkerSnapshotFileWriter(store.spec!, undefined, host.connect())];
  assert.equal(host.running, true);
  try {
    // Both subtasks at once, several checkpoints each: every answer reaches the writer that asked.
    const chains = await Promise.all(
      writers.map(async (writer, w) => {
        let chain = emptyChain(128);
        for (let checkpoint = 1; checkpoint <= 3; checkpoint++) {
          const written = await writer.write({ ...job(checkpoint, chain, [[`w${w}-${checkpoint}`, checkpoint], [`w${w}-shared`, checkpoint * 10]], false), taskId: `job.op#${w}`, fileName: snapshotFileName(checkpoint, `job.op#${w}`) }, 'write');
          assert.ok(written.written, `subtask ${w} wrote checkpoint ${checkpoint}`);
          chain = written.chain;
        }
        return chain;
      }),
    );
    assert.deepEqual(writers.map((w) => w.runningLanes), [['write'], ['write']]);
    for (const [w, chain] of chains.entries()) {
      const restored = new BackendFactory(undefined, store).heap();
      await restored.restore([{ kind: 'chain', input: { chain } }]);
      assert.deepEqual(valuesOf(restored, 'n'), new Map([[`w${w}-1`, 1], [`w${w}-2`, 2], [`w${w}-3`, 3], [`w${w}-shared`, 30]]), `subtask ${w}'s chain holds its own keys`);
    }
    // Materializations go to the shared worker too (the in-flight one below is lost with it).
    const base = await writers[1]!.write({ ...job(4, chains[1]!, [['w1-2', 20]], true), taskId: 'job.op#1', fileName: snapshotFileName(4, 'job.op#1') }, 'materialize');
    assert.equal(base.chain.files.length, 1, 'one new base');
    const rebased = new BackendFactory(undefined, store).heap();
    await rebased.restore([{ kind: 'chain', input: { chain: base.chain } }]);
    assert.deepEqual(valuesOf(rebased, 'n'), new Map([['w1-1', 1], ['w1-2', 20], ['w1-3', 3], ['w1-shared', 30]]));
    // The shared worker ends with a write in flight: that write is lost, the next one still works.
    // (100 k changes: the worker is still busy with them when it is terminated.)
    const inFlight = writers[0]!.write(job(4, chains[0]!, Array.from({ length: 100_000 }, (_, i): [string, number] => [`late-${i}`, i]), false), 'write');
    const lostWrite = assert.rejects(inFlight, (error: Error) => error instanceof StateLostError);
    const materializing = writers[1]!.write({ ...job(5, base.chain, Array.from({ length: 100_000 }, (_, i): [string, number] => [`late-${i}`, i]), true), taskId: 'job.op#1', fileName: snapshotFileName(5, 'job.op#1') }, 'materialize');
    const lostMaterialization = assert.rejects(materializing, (error: Error) => error instanceof StateLostError);
    await host.close();
    await lostWrite;
    await lostMaterialization;
    const after = await writers[0]!.write(job(5, emptyChain(128), [['after', 5]], false), 'write');
    assert.ok(after.written, 'a later write went to a worker of the writer\'s own');
    assert.deepEqual(lost, [], 'a host closed on purpose reports no lost worker');
  } finally {
    await Promise.all(writers.map((w) => w.close()));
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
});
