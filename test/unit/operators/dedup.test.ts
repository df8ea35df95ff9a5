import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dedupOperator, DUPLICATES_TAG, type DedupOperator } from '../../../src/operators/dedup.js';
import { StateCapacityError } from '../../../src/runtime/state/state-errors.js';
import { OperatorHarness } from './operator-harness.js';

interface Ev {
  id: string;
  n: number;
}
const byId = { keySelector: (e: Ev) => e.id };

test('drops keys seen within the TTL, counts them, and emits them to the duplicates side output', () => {
  let op!: DedupOperator<Ev>;
  const h = new OperatorHarness(() => (op = dedupOperator<Ev>({ ttlMs: 1000, emitDuplicates: true })), byId);
  h.process({ id: 'a', n: 1 }, { id: 'b', n: 2 }, { id: 'a', n: 3 });
  h.process({ id: 'b', n: 4 }, { id: 'c', n: 5 });
  assert.deepEqual(h.out.records.map((e) => e.n), [1, 2, 5]);
  assert.deepEqual(h.out.sideRecords(DUPLICATES_TAG), [{ id: 'a', n: 3 }, { id: 'b', n: 4 }]);
  assert.equal(op.duplicates, 2);
});

test('without emitDuplicates, duplicates are only counted', () => {
  let op!: DedupOperator<Ev>;
  const h = new OperatorHarness(() => (op = dedupOperator<Ev>({ ttlMs: 1000 })), byId);
  h.process({ id: 'a', n: 1 }, { id: 'a', n: 2 });
  assert.deepEqual(h.out.records.map((e) => e.n), [1]);
  assert.equal(h.out.sides.size, 0);
  assert.equal(op.duplicates, 1);
});

test('a key is accepted again once the TTL has passed since its first sighting', () => {
  const h = new OperatorHarness(() => dedupOperator<Ev>({ ttlMs: 1000 }), byId);
  h.process({ id: 'a', n: 1 });
  h.now += 600;
  h.process({ id: 'a', n: 2 }); // duplicate; does not extend the window
  h.now += 400;
  h.process({ id: 'a', n: 3 });
  assert.deepEqual(h.out.records.map((e) => e.n), [1, 3]);
});

test('dedup holds across snapshot and restore, and TTL keeps running from the original sighting', async () => {
  const h = new OperatorHarness(() => dedupOperator<Ev>({ ttlMs: 1000 }), byId);
  h.process({ id: 'a', n: 1 }, { id: 'b', n: 2 });
  h.now += 500;
  const snap = await h.snapshot(1);
  const r = await h.restart(snap, () => dedupOperator<Ev>({ ttlMs: 1000 }), h.now + 100);
  r.process({ id: 'a', n: 3 }, { id: 'c', n: 4 });
  assert.deepEqual(r.out.records.map((e) => e.n), [4]);
  r.now += 400; // 1000 ms after 'a' and 'b' were first seen
  r.process({ id: 'b', n: 5 });
  assert.deepEqual(r.out.records.map((e) => e.n), [4, 5]);
});

test('ttlMs must be positive', () => {
  assert.throws(() => dedupOperator({ ttlMs: 0 }), /ttlMs/);
});

test('keyed state at its capacity fails the task with an error naming the disk backend; no record goes to dead letters', () => {
  const h = new OperatorHarness(() => dedupOperator<Ev>({ ttlMs: 1000 }), { ...byId, stepId: 'orders.dedup', backend: { maxKeys: 3 } });
  h.process({ id: 'a', n: 1 }, { id: 'b', n: 2 }, { id: 'c', n: 3 });
  assert.throws(
    () => h.process({ id: 'a', n: 4 }, { id: 'd', n: 5 }),
    (err: unknown) => err instanceof StateCapacityError && /step 'orders\.dedup' holds 3 keys/.test(err.message) && /STATE_BACKEND=disk/.test(err.message),
  );
  assert.deepEqual(h.deadLetters.letters, []);
  h.now += 1000;
  h.process(); // every key expired: they leave after the batch, and new keys fit again
  h.process({ id: 'e', n: 6 }, { id: 'f', n: 7 }, { id: 'g', n: 8 });
  assert.deepEqual(h.out.records.map((e) => e.n), [1, 2, 3, 6, 7, 8]);
});
