/**
 * The disk backend (LevelDB) against the same contract as the heap backend, and both against each
 * other: a checkpoint written by one restores into the other. Expected state comes from plain Maps
 * the tests keep beside the backends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamlineError } from '../../../../src/errors.js';
import { keyGroupRange } from '../../../../src/runtime/state/key-group.js';
import type { StateChain } from '../../../../src/runtime/state/snapshot/state-chain.js';
import { BackendFactory, TestClock, valuesOf } from './support/backend-factory.js';

const chainOf = (chain: StateChain) => [{ kind: 'chain' as const, input: { chain } }];

test('disk value state: read-your-writes before and after the batch reaches LevelDB; clear; TTL', async () => {
  const time = new TestClock();
  const b = await new BackendFactory(time).freshDisk();
  const count = b.valueState<number>({ name: 'count' });
  const seen = b.valueState<string>({ name: 'seen', ttlMs: 1000 });
  b.setCurrentKey('a');
  count.set(1);
  seen.set('x');
  assert.equal(count.get(), 1, 'visible before any flush');
  b.afterBatch();
  b.setCurrentKey('b');
  assert.equal(count.get(), undefined);
  b.setCurrentKey('a');
  assert.equal(count.get(), 1, 'visible while the batch is in flight');
  await new Promise((resolve) => setTimeout(resolve, 20));
  b.setCurrentKey('a');
  assert.equal(count.get(), 1, 'read back from LevelDB');
  count.clear();
  assert.equal(count.get(), undefined);
  time.nowMs += 999;
  b.setCurrentKey('a');
  assert.equal(seen.get(), 'x');
  time.nowMs += 1;
  b.setCurrentKey('a');
  assert.equal(seen.get(), undefined, 'expired ttlMs after the write');
  await b.close();
});

test('disk backend: state survives checkpoints and restores, with deletes and TTL, like the heap backend', async () => {
  const time = new TestClock();
  const factory = new BackendFactory(time);
  const b = await factory.freshDisk();
  const n = b.valueState<number>({ name: 'n' });
  const seen = b.valueState<number>({ name: 'seen', ttlMs: 10_000 });
  const tags = b.mapState<string, number>({ name: 'tags' });
  const oracle = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    b.setCurrentKey(`k${i}`);
    n.set(i);
    seen.set(1);
    if (i % 10 === 0) tags.set('t', i);
    oracle.set(`k${i}`, i);
    if (i % 500 === 0) b.afterBatch();
  }
  const first = await b.snapshot(1);
  for (let i = 0; i < 100; i++) {
    b.setCurrentKey(`k${i}`);
    if (i % 2 === 0) {
      n.clear();
      oracle.delete(`k${i}`);
    } else {
      n.set(-i);
      oracle.set(`k${i}`, -i);
    }
  }
  b.afterBatch();
  const second = await b.snapshot(2);
  assert.equal(second.chain.files.length, 2);
  assert.ok(second.writtenBytes < first.writtenBytes / 10, `incremental: ${second.writtenBytes} vs ${first.writtenBytes}`);
  await b.close();

  const heap = factory.heap();
  await heap.restore(chainOf(second.chain));
  assert.deepEqual(valuesOf(heap, 'n'), oracle, 'the heap backend restores what the disk backend wrote');
  heap.setCurrentKey('k10');
  assert.equal(heap.mapState<string, number>({ name: 'tags' }).get('t'), 10);

  const disk = factory.disk();
  await disk.restore(chainOf(second.chain));
  const dn = disk.valueState<number>({ name: 'n' });
  for (const [key, value] of oracle) {
    disk.setCurrentKey(key);
    assert.equal(dn.get(), value);
  }
  disk.setCurrentKey('k0');
  assert.equal(dn.get(), undefined, 'deleted');
  time.nowMs += 10_000;
  disk.setCurrentKey('k5');
  assert.equal(disk.valueState<number>({ name: 'seen', ttlMs: 10_000 }).get(), undefined, 'expired after the restore, on schedule');
  assert.deepEqual([...disk.keys('tags')].length, 300, 'map states keep a key index');
  assert.throws(() => [...disk.keys('n')], StreamlineError);
  await disk.close();
});

test('disk restore over many LevelDB batches: the newer file of a chain wins, deletions included', async () => {
  const factory = new BackendFactory();
  const heap = factory.heap();
  const n = heap.valueState<number>({ name: 'n' });
  const expected = new Map<string, number>();
  for (let i = 0; i < 60_000; i++) {
    heap.setCurrentKey(`k${i}`);
    n.set(i);
    expected.set(`k${i}`, i);
  }
  const base = await heap.snapshot(1);
  for (let i = 0; i < 60_000; i += 2) {
    heap.setCurrentKey(`k${i}`);
    if (i % 6 === 0) {
      n.clear();
      expected.delete(`k${i}`);
    } else {
      n.set(-i);
      expected.set(`k${i}`, -i);
    }
  }
  const delta = await heap.snapshot(2);
  assert.deepEqual(delta.chain.files.map((f) => f.kind), ['base', 'delta']);
  assert.ok(base.chain.files.length === 1);
  const disk = factory.disk();
  await disk.restore(chainOf(delta.chain));
  const restored = disk.valueState<number>({ name: 'n' });
  const wrong: string[] = [];
  for (let i = 0; i < 60_000; i++) {
    disk.setCurrentKey(`k${i}`);
    if (restored.get() !== expected.get(`k${i}`)) wrong.push(`k${i}: ${restored.get()} instead of ${expected.get(`k${i}`)}`);
  }
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} keys restored wrong`);
  await disk.close();
});

test('heap checkpoint → disk restore → disk checkpoint → heap restore keeps every entry', async () => {
  const factory = new BackendFactory();
  const heap = factory.heap();
  const v = heap.valueState<unknown>({ name: 'v' });
  const expected = new Map<string | number, unknown>();
  for (let i = 0; i < 500; i++) {
    const key = i % 2 ? `s${i}` : i;
    heap.setCurrentKey(key);
    const value = { i, big: BigInt(i) << 70n };
    v.set(value);
    expected.set(key, value);
  }
  const fromHeap = await heap.snapshot(1);
  const disk = factory.disk({}, 'job.disk');
  await disk.restore(chainOf(fromHeap.chain));
  disk.setCurrentKey('new');
  disk.valueState<unknown>({ name: 'v' }).set('added');
  expected.set('new', 'added');
  disk.afterBatch();
  const fromDisk = await disk.snapshot(2);
  await disk.close();
  const back = factory.heap();
  await back.restore(chainOf(fromDisk.chain));
  assert.deepEqual(valuesOf(back, 'v'), expected);
});

test('disk backend restores only its key groups when rescaled', async () => {
  const factory = new BackendFactory();
  const heap = factory.heap();
  const s = heap.valueState<number>({ name: 'n' });
  for (let i = 0; i < 1000; i++) {
    heap.setCurrentKey(`u${i}`);
    s.set(i);
  }
  const { chain } = await heap.snapshot(1);
  let total = 0;
  for (let instance = 0; instance < 2; instance++) {
    const part = factory.disk({}, `job.part${instance}`);
    await part.restore([{ kind: 'chain', input: { chain, keyGroups: keyGroupRange(instance, 2) } }]);
    const snap = await part.snapshot(2);
    await part.close();
    const check = factory.heap();
    await check.restore(chainOf(snap.chain));
    total += valuesOf(check, 'n').size;
  }
  assert.equal(total, 1000);
});

test('disk backend holds input back while LevelDB has not taken its writes, and lets go once it has', async () => {
  const b = await new BackendFactory(new TestClock()).freshDisk();
  const seen = b.valueState<number>({ name: 'seen' });
  // A task writing far faster than LevelDB takes batches: 100 k new keys in one micro-batch.
  for (let i = 0; i < 100_000; i++) {
    b.setCurrentKey(`k-${i}`);
    seen.set(i);
  }
  b.afterBatch();
  let waits = 0;
  for (let until = b.backpressure(); until !== undefined; until = b.backpressure()) {
    waits++;
    await until;
  }
  assert.ok(waits >= 2, `held back over several LevelDB batches, got ${waits}`);
  assert.equal(b.backpressure(), undefined);
  for (const i of [0, 49_999, 99_999]) {
    b.setCurrentKey(`k-${i}`);
    assert.equal(seen.get(), i);
  }
  await b.close();
});
