/**
 * Keyed state divided by source split (group mode): a key belongs to the split it was first seen
 * under, `snapshotSplits` writes one part per split, and a part restored elsewhere stays with its
 * split. These tests read the parts through the documented snapshot format (`SLKS`, version byte,
 * JSON) so they prove which keys each part holds, not only that something was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap-keyed-state-backend.js';
import type { StateKey } from '../../../../src/runtime/state/keyed-state-backend.js';

const A = 'orders:0';
const B = 'orders:1';

function clocked(start = 1_000_000) {
  const clock = { now: start };
  const backend = new HeapKeyedStateBackend({ clock: () => clock.now });
  return { clock, backend };
}

interface PartState {
  name: string;
  kind: 'value' | 'map';
  groups: [number, [StateKey, unknown, number?][]][];
}

/** State name → sorted keys held by one snapshot part. */
function keysOf(bytes: Uint8Array | undefined): Record<string, StateKey[]> {
  assert.ok(bytes !== undefined, 'expected a snapshot part');
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'SLKS');
  const doc = JSON.parse(new TextDecoder().decode(bytes.subarray(5))) as { states: PartState[] };
  const out: Record<string, StateKey[]> = {};
  for (const state of doc.states) {
    const keys = state.groups.flatMap(([, entries]) => entries.map((e) => e[0]));
    out[state.name] = [...(out[state.name] ?? []), ...keys].sort();
  }
  return out;
}

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

test('keys written under split A and split B come out in their own parts, for value and map state, with and without TTL', () => {
  const { backend: b } = clocked();
  const s = declare(b);
  b.setCurrentSplit(A);
  writeAll(b, s, 'a1', 1);
  writeAll(b, s, 'a2', 2);
  b.setCurrentSplit(B);
  writeAll(b, s, 'b1', 3);

  const parts = b.snapshotSplits();
  assert.deepEqual([...parts.keys()].sort(), [A, B], 'no keys of no split, so no "" part');
  const all = ['count', 'recent', 'seen', 'tags'];
  assert.deepEqual(Object.keys(keysOf(parts.get(A))).sort(), all);
  for (const name of all) {
    assert.deepEqual(keysOf(parts.get(A))[name], ['a1', 'a2'], `${name}: A's part holds A's keys only`);
    assert.deepEqual(keysOf(parts.get(B))[name], ['b1'], `${name}: B's part holds B's keys only`);
  }
});

test("A's part restored with split A yields exactly A's keys and values, and snapshots under A again", () => {
  const { backend: source } = clocked();
  const s = declare(source);
  source.setCurrentSplit(A);
  writeAll(source, s, 'a1', 1);
  source.setCurrentSplit(B);
  writeAll(source, s, 'b1', 2);
  const partA = source.snapshotSplits().get(A)!;

  const { backend: target } = clocked();
  target.restore(partA, undefined, A);
  const t = declare(target);
  for (const name of ['count', 'seen', 'tags', 'recent']) assert.deepEqual([...target.keys(name)], ['a1'], name);
  target.setCurrentKey('a1');
  assert.equal(t.count.get(), 1);
  assert.equal(t.seen.get(), 'seen-1');
  assert.equal(t.tags.get('t'), 1);
  assert.equal(t.recent.get('r'), 1);
  target.setCurrentKey('b1');
  assert.equal(t.count.get(), undefined, "B's key did not travel with A's part");

  // No split was ever made current on the target: the attribution comes from the restore alone.
  const again = target.snapshotSplits();
  assert.deepEqual([...again.keys()], [A]);
  assert.deepEqual(keysOf(again.get(A)).count, ['a1']);
});

test('keys written while no split is current go to the "" part', () => {
  const { backend: b } = clocked();
  const s = declare(b);
  b.setCurrentSplit(A);
  writeAll(b, s, 'a1', 1);
  b.setCurrentSplit(undefined); // e.g. a timer or watermark
  writeAll(b, s, 'timer-key', 2);

  const parts = b.snapshotSplits();
  assert.deepEqual([...parts.keys()].sort(), ['', A]);
  assert.deepEqual(keysOf(parts.get('')).count, ['timer-key']);
  assert.deepEqual(keysOf(parts.get(A)).count, ['a1']);
});

test('with no split ever used, snapshotSplits is just "" and byte-equal to snapshot()', () => {
  const { backend: b } = clocked();
  const s = declare(b);
  writeAll(b, s, 'k1', 1);
  writeAll(b, s, 2, 2);
  const parts = b.snapshotSplits();
  assert.deepEqual([...parts.keys()], ['']);
  assert.deepEqual(parts.get(''), b.snapshot());
  assert.deepEqual(keysOf(parts.get('')).count, [2, 'k1']);
});

test('a key first seen under A and then under B counts one conflict per switch to B; its state stays in A', () => {
  const { backend: b } = clocked();
  const s = declare(b);
  b.setCurrentSplit(A);
  writeAll(b, s, 'k', 1);
  assert.equal(b.splitConflicts, 0);

  b.setCurrentSplit(B);
  b.setCurrentKey('other'); // a different key in between forces the regular (key change) path
  b.setCurrentKey('k');
  s.count.set(2);
  assert.equal(b.splitConflicts, 1);
  b.setCurrentKey('k'); // the same record key again, same split: not another conflict
  assert.equal(b.splitConflicts, 1);

  b.setCurrentSplit(A);
  b.setCurrentKey('k'); // back in its own split: no conflict
  assert.equal(b.splitConflicts, 1);
  b.setCurrentSplit(B);
  b.setCurrentKey('k'); // switched to B again: counted again
  assert.equal(b.splitConflicts, 2);

  const parts = b.snapshotSplits();
  assert.deepEqual(keysOf(parts.get(A)).count, ['k'], 'the state of k stays with its first split');
  assert.equal(parts.has(B), false, 'B holds no state: neither k nor the stateless key "other"');
  b.setCurrentKey('k');
  assert.equal(s.count.get(), 2, 'the write under B updated the one state of k');
});

test('the same key in consecutive batches of different splits is detected without a key change (attributionDue)', () => {
  const { backend: b } = clocked();
  const s = declare(b);
  // Batch 1, split A: last record has key k.
  b.setCurrentSplit(A);
  b.setCurrentKey('k');
  s.count.set(1);
  // Batch 2, split B: first record has the same key k. setCurrentKey sees an unchanged key.
  b.setCurrentSplit(B);
  b.setCurrentKey('k');
  s.count.set(2);
  assert.equal(b.splitConflicts, 1);
  // And a key first seen that way (no key change) is still attributed to the new split.
  b.setCurrentSplit(undefined);
  b.setCurrentKey('j');
  b.setCurrentSplit(A);
  b.setCurrentKey('j');
  s.count.set(3);
  const parts = b.snapshotSplits();
  assert.deepEqual(keysOf(parts.get(A)).count, ['j', 'k']);
  assert.equal(parts.has(''), false);
});

test('cleared and expired keys leave the split parts, and their split attribution is forgotten at the snapshot', () => {
  const { clock, backend: b } = clocked();
  const count = b.valueState<number>({ name: 'count' });
  const seen = b.valueState<string>({ name: 'seen', ttlMs: 1000 });
  const recent = b.mapState<string, number>({ name: 'recent', ttlMs: 1000 });
  b.setCurrentSplit(A);
  b.setCurrentKey('cleared');
  count.set(1);
  b.setCurrentKey('expired-value');
  seen.set('x');
  b.setCurrentKey('expired-map');
  recent.set('r', 1);
  b.setCurrentKey('kept');
  count.set(4);

  b.setCurrentKey('cleared');
  count.clear();
  clock.now += 1000; // both TTL entries are exactly ttlMs old: expired

  const parts = b.snapshotSplits();
  assert.deepEqual(keysOf(parts.get(A)), { count: ['kept'] }, 'only the live key remains; emptied states are left out');

  // The three keys are unknown now: seen under B they belong to B, with no conflict.
  b.setCurrentSplit(B);
  for (const key of ['cleared', 'expired-value', 'expired-map']) {
    b.setCurrentKey(key);
    count.set(10);
  }
  b.setCurrentKey('kept'); // still attributed to A: this one is a conflict
  assert.equal(b.splitConflicts, 1);
  const after = b.snapshotSplits();
  assert.deepEqual(keysOf(after.get(B)).count, ['cleared', 'expired-map', 'expired-value']);
  assert.deepEqual(keysOf(after.get(A)).count, ['kept']);
});

test('a key cleared but not yet snapshotted is still attributed to its split (pruning happens at snapshots)', () => {
  const { backend: b } = clocked();
  const count = b.valueState<number>({ name: 'count' });
  b.setCurrentSplit(A);
  b.setCurrentKey('k');
  count.set(1);
  count.clear();
  b.setCurrentSplit(B);
  b.setCurrentKey('k');
  count.set(2);
  assert.equal(b.splitConflicts, 1);
  assert.deepEqual(keysOf(b.snapshotSplits().get(A)).count, ['k']);
});

test('state restored under a name not declared yet keeps its split, before and after the declaration', () => {
  const { backend: source } = clocked();
  const s = declare(source);
  source.setCurrentSplit(A);
  writeAll(source, s, 'a1', 1);
  const partA = source.snapshotSplits().get(A)!;

  const { backend: b } = clocked();
  b.restore(partA, undefined, A);
  // Only 'count' is declared; the other three stay pending and must still be written under A.
  const count = b.valueState<number>({ name: 'count' });
  const pendingParts = b.snapshotSplits();
  assert.deepEqual([...pendingParts.keys()], [A]);
  assert.deepEqual(keysOf(pendingParts.get(A)), { count: ['a1'], recent: ['a1'], seen: ['a1'], tags: ['a1'] });

  // Declared later: the keys belong to A, so seeing a1 under B is a conflict.
  const tags = b.mapState<string, number>({ name: 'tags' });
  b.setCurrentSplit(B);
  b.setCurrentKey('a1');
  assert.equal(b.splitConflicts, 1);
  assert.equal(tags.get('t'), 1);
  assert.equal(count.get(), 1);
  const declared = b.snapshotSplits();
  assert.deepEqual([...declared.keys()], [A]);
  assert.deepEqual(keysOf(declared.get(A)).tags, ['a1']);
});

test('pending state restored with a split is attributed to it when declared, even though no split is current', () => {
  const { backend: source } = clocked();
  const count = source.valueState<number>({ name: 'count' });
  source.setCurrentSplit(B);
  source.setCurrentKey('b1');
  count.set(7);
  const partB = source.snapshotSplits().get(B)!;

  const { backend: b } = clocked();
  b.restore(partB, undefined, B); // before any declaration
  b.valueState<number>({ name: 'count' });
  assert.deepEqual([...b.snapshotSplits().keys()], [B], 'not the "" part: the split survived the pending stage');
});
