/**
 * Keyed state divided by source split (group mode): a key belongs to the split it was first written
 * under, its changes are written in that split's blocks, and restoring one split elsewhere brings
 * exactly its keys. What each split holds is checked by restoring it alone into a fresh backend
 * and reading every key back, against the keys the test wrote under each split.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import type { StateKey } from '../../../../src/runtime/state/keyed-state-backend.js';
import type { StateChain } from '../../../../src/runtime/state/snapshot/state-chain.js';
import { BackendFactory, TestClock } from './support/backend-factory.js';

const A = 'orders:0';
const B = 'orders:1';

/** Declares the four kinds of state the tests use: plain and TTL, value and map. */
function declare(b: HeapKeyedStateBackend) {
  return {
    count: b.valueState<number>({ name: 'count' }),
    seen: b.valueState<string>({ name: 'seen', ttlMs: 1000 }),
    tags: b.mapState<string, number>({ name: 'tags' }),
    recent: b.mapState<string, number>({ name: 'recent', ttlMs: 1000 }),
  };
}

function writeAll(b: HeapKeyedStateBackend, s: ReturnType<typeof declare>, key: StateKey, n: number): void {
  b.setCurrentKey(key);
  s.count.set(n);
  s.seen.set(`seen-${n}`);
  s.tags.set('t', n);
  s.recent.set('r', n);
}

/** State name → sorted keys that restoring only `split` from `chain` yields. */
async function keysOfSplit(factory: BackendFactory, chain: StateChain, split: string): Promise<Record<string, StateKey[]>> {
  const b = factory.heap();
  await b.restore([{ kind: 'chain', input: { chain, splits: [split] } }]);
  declare(b);
  const out: Record<string, StateKey[]> = {};
  for (const name of b.stateNames()) {
    const keys = [...b.keys(name)].sort();
    if (keys.length > 0) out[name] = keys;
  }
  return out;
}

test('keys written under split A and split B come out in their own splits, for value and map state, with and without TTL', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = declare(b);
  b.setCurrentSplit(A);
  writeAll(b, s, 'a1', 1);
  writeAll(b, s, 'a2', 2);
  b.setCurrentSplit(B);
  writeAll(b, s, 'b1', 3);
  const { chain } = await b.snapshot(1);
  const all = { count: ['a1', 'a2'], recent: ['a1', 'a2'], seen: ['a1', 'a2'], tags: ['a1', 'a2'] };
  assert.deepEqual(await keysOfSplit(factory, chain, A), all);
  assert.deepEqual(await keysOfSplit(factory, chain, B), { count: ['b1'], recent: ['b1'], seen: ['b1'], tags: ['b1'] });
  assert.deepEqual(await keysOfSplit(factory, chain, ''), {}, 'no keys of no split');
});

test("A's state restored alone yields exactly A's keys and values, and is written under A again", async () => {
  const factory = new BackendFactory();
  const source = factory.heap();
  const s = declare(source);
  source.setCurrentSplit(A);
  writeAll(source, s, 'a1', 1);
  source.setCurrentSplit(B);
  writeAll(source, s, 'b1', 2);
  const { chain } = await source.snapshot(1);

  const target = factory.heap({}, 'job.next-owner');
  await target.restore([{ kind: 'chain', input: { chain, splits: [A] } }]);
  const t = declare(target);
  for (const name of ['count', 'seen', 'tags', 'recent']) assert.deepEqual([...target.keys(name)], ['a1'], name);
  target.setCurrentKey('a1');
  assert.equal(t.count.get(), 1);
  assert.equal(t.seen.get(), 'seen-1');
  assert.equal(t.tags.get('t'), 1);
  assert.equal(t.recent.get('r'), 1);
  target.setCurrentKey('b1');
  assert.equal(t.count.get(), undefined, "B's key did not travel with A's state");
  // No split was ever made current on the target: the attribution comes from the restore alone.
  const again = await target.snapshot(2);
  assert.deepEqual((await keysOfSplit(factory, again.chain, A)).count, ['a1']);
  assert.deepEqual(await keysOfSplit(factory, again.chain, ''), {});
});

test('keys written while no split is current belong to no split', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = declare(b);
  b.setCurrentSplit(A);
  writeAll(b, s, 'a1', 1);
  b.setCurrentSplit(undefined); // e.g. a timer or watermark
  writeAll(b, s, 'timer-key', 2);
  const { chain } = await b.snapshot(1);
  assert.deepEqual((await keysOfSplit(factory, chain, '')).count, ['timer-key']);
  assert.deepEqual((await keysOfSplit(factory, chain, A)).count, ['a1']);
});

test('a key first seen under A and then under B counts one conflict per switch to B; its state stays in A', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = declare(b);
  b.setCurrentSplit(A);
  writeAll(b, s, 'k', 1);
  assert.equal(b.splitConflicts, 0);
  b.setCurrentSplit(B);
  b.setCurrentKey('other');
  b.setCurrentKey('k');
  s.count.set(2);
  assert.equal(b.splitConflicts, 1);
  b.setCurrentKey('k'); // the same key again, same split: not another conflict... but it is looked at again
  b.setCurrentSplit(A);
  b.setCurrentKey('k'); // back in its own split: no conflict
  const afterA = b.splitConflicts;
  b.setCurrentSplit(B);
  b.setCurrentKey('k'); // switched to B again: counted again
  assert.equal(b.splitConflicts, afterA + 1);
  const { chain } = await b.snapshot(1);
  assert.deepEqual((await keysOfSplit(factory, chain, A)).count, ['k'], 'the state of k stays with its first split');
  assert.deepEqual(await keysOfSplit(factory, chain, B), {}, 'B holds no state');
  b.setCurrentKey('k');
  assert.equal(s.count.get(), 2, 'the write under B updated the one state of k');
});

test('the same key in consecutive batches of different splits is detected without a key change', () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = declare(b);
  b.setCurrentSplit(A);
  b.setCurrentKey('k');
  s.count.set(1);
  b.setCurrentSplit(B);
  b.setCurrentKey('k');
  s.count.set(2);
  assert.equal(b.splitConflicts, 1);
});

test('cleared and expired keys leave their split, and can belong to another split afterwards', async () => {
  const time = new TestClock();
  const factory = new BackendFactory(time);
  const b = factory.heap();
  const count = b.valueState<number>({ name: 'count' });
  const seen = b.valueState<string>({ name: 'seen', ttlMs: 1000 });
  b.setCurrentSplit(A);
  b.setCurrentKey('cleared');
  count.set(1);
  b.setCurrentKey('expired');
  seen.set('x');
  b.setCurrentKey('kept');
  count.set(4);
  b.setCurrentKey('cleared');
  count.clear();
  time.nowMs += 1000; // the TTL entry is exactly ttlMs old: expired
  b.afterBatch();
  const first = await b.snapshot(1);
  assert.deepEqual(await keysOfSplit(factory, first.chain, A), { count: ['kept'] });

  b.setCurrentSplit(B);
  for (const key of ['cleared', 'expired']) {
    b.setCurrentKey(key);
    count.set(10);
  }
  b.setCurrentKey('kept'); // still attributed to A: this one is a conflict
  assert.equal(b.splitConflicts, 1);
  const second = await b.snapshot(2);
  assert.deepEqual((await keysOfSplit(factory, second.chain, B)).count, ['cleared', 'expired']);
  assert.deepEqual((await keysOfSplit(factory, second.chain, A)).count, ['kept']);
});

test('state restored under a name not declared yet keeps its split, before and after the declaration', async () => {
  const factory = new BackendFactory();
  const source = factory.heap();
  const s = declare(source);
  source.setCurrentSplit(A);
  writeAll(source, s, 'a1', 1);
  const { chain } = await source.snapshot(1);

  const b = factory.heap({}, 'job.b');
  await b.restore([{ kind: 'chain', input: { chain, splits: [A] } }]);
  const count = b.valueState<number>({ name: 'count' }); // the other three stay undeclared
  const carried = await b.snapshot(2);
  assert.deepEqual(await keysOfSplit(factory, carried.chain, A), { count: ['a1'], recent: ['a1'], seen: ['a1'], tags: ['a1'] });

  const tags = b.mapState<string, number>({ name: 'tags' });
  b.setCurrentSplit(B);
  b.setCurrentKey('a1');
  assert.equal(b.splitConflicts, 1, 'a1 belongs to A');
  assert.equal(tags.get('t'), 1);
  assert.equal(count.get(), 1);
});

/** Keys the backend keeps a row, and so a split, for (its private KeyRows, looked at only here). */
function attributedKeys(b: HeapKeyedStateBackend): number {
  return (b as unknown as { rows: { size: number } }).rows.size;
}

test('keys that are only read get no split: nothing is kept for them, and their first write decides their split', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = declare(b);
  b.setCurrentSplit(A);
  for (let i = 0; i < 10_000; i++) {
    b.setCurrentKey(`read-${i}`);
    assert.equal(s.count.get(), undefined);
    assert.equal(s.tags.get('t'), undefined);
  }
  assert.equal(attributedKeys(b), 0, 'a lookup of a key without state keeps nothing');

  b.setCurrentKey('k');
  assert.equal(s.seen.get(), undefined); // read under A, not written
  b.setCurrentSplit(B);
  b.setCurrentKey('k');
  s.count.set(1); // first written under B: it belongs to B, and that is no conflict
  assert.equal(b.splitConflicts, 0);
  assert.equal(attributedKeys(b), 1);
  const { chain } = await b.snapshot(1);
  assert.deepEqual((await keysOfSplit(factory, chain, B)).count, ['k']);
  assert.deepEqual(await keysOfSplit(factory, chain, A), {});
});

test('a key cleared and written again in one step is attributed again, so a later split still sees where it belongs', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = declare(b);
  b.setCurrentSplit(A);
  b.setCurrentKey('k');
  s.count.set(1);
  s.count.clear(); // its last state: the key leaves its split
  s.count.set(2); // and gets one again at once
  assert.equal(attributedKeys(b), 1);
  b.setCurrentSplit(B);
  b.setCurrentKey('k');
  assert.equal(b.splitConflicts, 1, 'k belongs to A');
  s.count.set(3);
  const { chain } = await b.snapshot(1);
  assert.deepEqual((await keysOfSplit(factory, chain, A)).count, ['k']);
  assert.deepEqual(await keysOfSplit(factory, chain, B), {});
});

test('a hot key looked up again in the same split is placed once; a new split places it again', () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = declare(b);
  b.setCurrentSplit(A);
  b.setCurrentKey('hot');
  s.count.set(0);
  const rows = (b as unknown as { rows: { placeRow(row: number): number } }).rows;
  let lookups = 0;
  const placeRow = rows.placeRow.bind(rows);
  rows.placeRow = (row) => {
    lookups++;
    return placeRow(row);
  };
  for (let i = 1; i <= 1000; i++) {
    b.setCurrentKey('hot');
    s.count.set(i);
  }
  assert.equal(lookups, 0, 'the same key in the same split is not looked up per record');
  b.setCurrentSplit(B);
  b.setCurrentKey('hot');
  s.count.set(1001);
  assert.equal(lookups, 1);
  assert.equal(b.splitConflicts, 1);
});
