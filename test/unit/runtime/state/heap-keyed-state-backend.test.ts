import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeapKeyedStateBackend, KeyGroupOutOfRangeError, StateDeclarationError } from '../../../../src/runtime/state/heap-keyed-state-backend.js';
import { keyGroupFor, keyGroupRange } from '../../../../src/runtime/state/key-group.js';
import { CorruptCheckpointError, RestoreError } from '../../../../src/errors.js';

function clocked(start = 1_000_000) {
  const clock = { now: start };
  const backend = new HeapKeyedStateBackend({ clock: () => clock.now });
  return { clock, backend };
}

test('value state is scoped to the current key; 1 and "1" are different keys', () => {
  const b = new HeapKeyedStateBackend();
  const s = b.valueState<number>({ name: 'count' });
  b.setCurrentKey('a');
  assert.equal(s.get(), undefined);
  s.set(1);
  b.setCurrentKey('b');
  assert.equal(s.get(), undefined);
  s.set(2);
  b.setCurrentKey(1);
  s.set(3);
  b.setCurrentKey('1');
  assert.equal(s.get(), undefined);
  b.setCurrentKey('a');
  assert.equal(s.get(), 1);
  s.clear();
  assert.equal(s.get(), undefined);
  b.setCurrentKey(1);
  assert.equal(s.get(), 3);
  assert.equal(b.getCurrentKey(), 1);
  assert.deepEqual([...b.keys('count')].sort(), [1, 'b']);
});

test('a state name declared twice returns the same handle; a different kind or TTL is an error', () => {
  const b = new HeapKeyedStateBackend();
  assert.equal(b.valueState({ name: 'x' }), b.valueState({ name: 'x' }));
  assert.throws(() => b.mapState({ name: 'x' }), StateDeclarationError);
  assert.throws(() => b.valueState({ name: 'x', ttlMs: 5 }), StateDeclarationError);
  assert.throws(() => b.valueState({ name: 'y', ttlMs: 0 }), StateDeclarationError);
});

test('writing before setCurrentKey fails loudly; non-finite number keys are rejected', () => {
  const b = new HeapKeyedStateBackend();
  assert.throws(() => b.valueState<number>({ name: 'v' }).set(1), /before setCurrentKey/);
  assert.throws(() => b.mapState<string, number>({ name: 'm' }).set('k', 1), /before setCurrentKey/);
  assert.throws(() => b.setCurrentKey(NaN), TypeError);
  assert.throws(() => b.getCurrentKey(), /before setCurrentKey/);
});

test('map state: get/set/has/delete/entries/clear per key', () => {
  const b = new HeapKeyedStateBackend();
  const m = b.mapState<string, number>({ name: 'm' });
  b.setCurrentKey('k1');
  m.set('x', 1);
  m.set('y', 2);
  b.setCurrentKey('k2');
  assert.equal(m.has('x'), false);
  m.set('x', 10);
  b.setCurrentKey('k1');
  assert.equal(m.get('y'), 2);
  assert.deepEqual([...m.entries()], [['x', 1], ['y', 2]]);
  m.delete('x');
  assert.equal(m.has('x'), false);
  m.clear();
  assert.deepEqual([...m.entries()], []);
  assert.deepEqual([...b.keys('m')], ['k2']);
  m.delete('nothing'); // no-op on a key without state
});

test('TTL value state: expires ttlMs after the last write, reads as absent, writes refresh', () => {
  const { clock, backend: b } = clocked();
  const s = b.valueState<string>({ name: 'seen', ttlMs: 1000 });
  b.setCurrentKey('a');
  s.set('v1');
  clock.now += 999;
  b.setCurrentKey('a');
  assert.equal(s.get(), 'v1');
  s.set('v2'); // refresh at +999
  clock.now += 999;
  b.setCurrentKey('a');
  assert.equal(s.get(), 'v2');
  clock.now += 1;
  b.setCurrentKey('a');
  assert.equal(s.get(), undefined);
  assert.deepEqual([...b.keys('seen')], []);
});

test('TTL map state: entries expire individually', () => {
  const { clock, backend: b } = clocked();
  const m = b.mapState<string, number>({ name: 'm', ttlMs: 100 });
  b.setCurrentKey('k');
  m.set('old', 1);
  clock.now += 60;
  b.setCurrentKey('k');
  m.set('new', 2);
  clock.now += 50;
  b.setCurrentKey('k');
  assert.equal(m.has('old'), false);
  assert.equal(m.get('new'), 2);
  assert.deepEqual([...m.entries()], [['new', 2]]);
  clock.now += 100;
  b.setCurrentKey('k');
  assert.deepEqual([...m.entries()], []);
  assert.deepEqual([...b.keys('m')], []);
});

test('expired entries are left out of snapshots and dropped from memory', () => {
  const { clock, backend: b } = clocked();
  const s = b.valueState<number>({ name: 's', ttlMs: 1000 });
  for (let i = 0; i < 100; i++) {
    b.setCurrentKey(`k${i}`);
    s.set(i);
    if (i === 49) clock.now += 600;
  }
  clock.now += 500; // first 50 are 1100 ms old, last 50 are 500 ms old
  const snap = b.snapshot();
  const { backend: restored } = clocked(clock.now);
  restored.restore(snap);
  const r = restored.valueState<number>({ name: 's', ttlMs: 1000 });
  assert.equal([...restored.keys('s')].length, 50);
  restored.setCurrentKey('k10');
  assert.equal(r.get(), undefined);
  restored.setCurrentKey('k60');
  assert.equal(r.get(), 60);
  // Write times survive the snapshot: k60 still expires on schedule after restore.
  clock.now += 500;
  const later = new HeapKeyedStateBackend({ clock: () => clock.now });
  later.restore(snap);
  const l = later.valueState<number>({ name: 's', ttlMs: 1000 });
  later.setCurrentKey('k60');
  assert.equal(l.get(), undefined);
});

test('snapshot → restore gives equal state (objects, bigint, numbers and strings as keys, map state)', () => {
  const b = new HeapKeyedStateBackend();
  const v = b.valueState<unknown>({ name: 'v' });
  const m = b.mapState<number, unknown>({ name: 'm' });
  const expected = new Map<string | number, unknown>();
  for (let i = 0; i < 1000; i++) {
    const key = i % 3 === 0 ? i : `key-${i}`;
    const value = { i, big: BigInt(i) * 10n ** 20n, tags: ['x', i % 7], nested: { ok: i % 2 === 0 } };
    b.setCurrentKey(key);
    v.set(value);
    m.set(i, `w${i}`);
    m.set(i + 1, null);
    expected.set(key, value);
  }
  const snap = b.snapshot();
  assert.equal(String.fromCharCode(...snap.subarray(0, 4)), 'SLKS');
  assert.equal(snap[4], 1);
  const r = new HeapKeyedStateBackend();
  r.restore(snap); // before declaration: kept pending until declared
  const rv = r.valueState<unknown>({ name: 'v' });
  const rm = r.mapState<number, unknown>({ name: 'm' });
  assert.equal([...r.keys('v')].length, 1000);
  for (const [key, value] of expected) {
    r.setCurrentKey(key);
    assert.deepEqual(rv.get(), value);
    const i = typeof key === 'number' ? key : Number(key.slice(4));
    assert.deepEqual([...rm.entries()], [[i, `w${i}`], [i + 1, null]]);
  }
  assert.deepEqual(r.snapshot(), snap);
});

test('restore filters key groups: two halves of a rescale together hold exactly the original state', () => {
  const b = new HeapKeyedStateBackend();
  const s = b.valueState<number>({ name: 'n' });
  const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
  for (const [i, k] of keys.entries()) {
    b.setCurrentKey(k);
    s.set(i);
  }
  const snap = b.snapshot();
  const seen = new Map<string, number>();
  for (let instance = 0; instance < 2; instance++) {
    const range = keyGroupRange(instance, 2);
    const part = new HeapKeyedStateBackend({ keyGroupRange: range });
    part.restore(snap);
    const ps = part.valueState<number>({ name: 'n' });
    for (const k of part.keys('n')) {
      const g = keyGroupFor(k);
      assert.ok(g >= range.start && g <= range.end, `key ${k} in group ${g} outside ${range.start}..${range.end}`);
      part.setCurrentKey(k);
      assert.ok(!seen.has(k as string));
      seen.set(k as string, ps.get()!);
    }
    const foreign = keys.find((k) => keyGroupFor(k) < range.start || keyGroupFor(k) > range.end)!;
    assert.throws(() => part.setCurrentKey(foreign), KeyGroupOutOfRangeError);
  }
  assert.equal(seen.size, keys.length);
  for (const [i, k] of keys.entries()) assert.equal(seen.get(k), i);

  // An explicit filter wins, and several restores merge (scale-in: two snapshots into one backend).
  const even = new HeapKeyedStateBackend();
  even.restore(snap, (g) => g % 2 === 0);
  even.restore(snap, (g) => g % 2 === 1);
  even.valueState<number>({ name: 'n' });
  assert.equal([...even.keys('n')].length, keys.length);
});

test('restore rejects a different maxParallelism, a kind mismatch and corrupt bytes', () => {
  const b = new HeapKeyedStateBackend();
  b.setCurrentKey('k');
  b.valueState<number>({ name: 's' }).set(1);
  const snap = b.snapshot();
  assert.throws(() => new HeapKeyedStateBackend({ maxParallelism: 64 }).restore(snap), RestoreError);
  const declaredFirst = new HeapKeyedStateBackend();
  declaredFirst.mapState({ name: 's' });
  assert.throws(() => declaredFirst.restore(snap), RestoreError);
  const declaredLater = new HeapKeyedStateBackend();
  declaredLater.restore(snap);
  assert.throws(() => declaredLater.mapState({ name: 's' }), RestoreError);
  assert.throws(() => new HeapKeyedStateBackend().restore(new Uint8Array([1, 2, 3, 4, 5])), CorruptCheckpointError);
  const badVersion = snap.slice();
  badVersion[4] = 99;
  assert.throws(() => new HeapKeyedStateBackend().restore(badVersion), /version 99/);
  assert.throws(() => new HeapKeyedStateBackend().restore(snap.slice(0, snap.length - 3)), CorruptCheckpointError);
});

test('restored state that is never declared is carried into the next snapshot', () => {
  const b = new HeapKeyedStateBackend();
  b.setCurrentKey('k');
  b.valueState<number>({ name: 'kept' }).set(7);
  const r = new HeapKeyedStateBackend();
  r.restore(b.snapshot());
  const again = new HeapKeyedStateBackend();
  again.restore(r.snapshot());
  again.setCurrentKey('k');
  assert.equal(again.valueState<number>({ name: 'kept' }).get(), 7);
});

test('TTL declared after a snapshot without TTL: restored entries start their TTL at restore', () => {
  const plain = new HeapKeyedStateBackend();
  plain.setCurrentKey('k');
  plain.valueState<number>({ name: 's' }).set(1);
  const { clock, backend: b } = clocked(5_000);
  b.restore(plain.snapshot());
  const s = b.valueState<number>({ name: 's', ttlMs: 100 });
  b.setCurrentKey('k');
  assert.equal(s.get(), 1);
  clock.now += 100;
  b.setCurrentKey('k');
  assert.equal(s.get(), undefined);
});
