import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATE_TAG, tumblingEventTimeWindowOperator } from '../../../src/operators/tumbling-event-time-window.js';
import { OperatorHarness } from './operator-harness.js';

interface Click {
  user: string;
  ts: number;
  n: number;
}
interface Out {
  user: string;
  start: number;
  end: number;
  sum: number;
  count: number;
}

const windowOp = () =>
  tumblingEventTimeWindowOperator<Click, { sum: number; count: number }, Out>({
    sizeMs: 1000,
    eventTime: (c) => c.ts,
    aggregate: {
      create: () => ({ sum: 0, count: 0 }),
      add: (acc, c) => {
        acc.sum += c.n;
        acc.count++;
        return acc;
      },
      result: (acc, user, w) => ({ user: user as string, start: w.start, end: w.end, ...acc }),
    },
  });
const keyed = { keySelector: (c: Click) => c.user };

test('windows fire when the watermark reaches end - 1, in window order then key order', () => {
  const h = new OperatorHarness(windowOp, keyed);
  h.process({ user: 'b', ts: 1500, n: 1 }, { user: 'a', ts: 100, n: 2 }, { user: 'b', ts: 999, n: 3 }, { user: 'a', ts: 2100, n: 4 }, { user: 'a', ts: 1001, n: 5 });
  h.advanceWatermark(998);
  assert.deepEqual(h.out.records, []);
  h.advanceWatermark(999);
  assert.deepEqual(h.out.records, [
    { user: 'a', start: 0, end: 1000, sum: 2, count: 1 },
    { user: 'b', start: 0, end: 1000, sum: 3, count: 1 },
  ]);
  h.process({ user: 'a', ts: 999, n: 100 }); // its window [0, 1000) has just fired: late
  assert.deepEqual(h.out.sideRecords(LATE_TAG), [{ user: 'a', ts: 999, n: 100 }]);
  h.advanceWatermark(5000); // two windows at once, still in order
  assert.deepEqual(h.out.records.slice(2), [
    { user: 'a', start: 1000, end: 2000, sum: 5, count: 1 },
    { user: 'b', start: 1000, end: 2000, sum: 1, count: 1 },
    { user: 'a', start: 2000, end: 3000, sum: 4, count: 1 },
  ]);
  assert.deepEqual([...h.keyedState!.keys('tumbling-window-contents')], []);
});

test('late records (their window already fired) go to the late side output, never dropped', () => {
  const h = new OperatorHarness(windowOp, keyed);
  h.process({ user: 'a', ts: 10, n: 1 });
  h.advanceWatermark(1200);
  h.process({ user: 'a', ts: 999, n: 7 }, { user: 'a', ts: 1100, n: 8 }, { user: 'c', ts: 5, n: 9 });
  assert.deepEqual(h.out.sideRecords(LATE_TAG), [{ user: 'a', ts: 999, n: 7 }, { user: 'c', ts: 5, n: 9 }]);
  h.end();
  assert.deepEqual(h.out.records.map((o) => [o.start, o.sum]), [[0, 1], [1000, 8]]);
});

test('end of input fires every open window', () => {
  const h = new OperatorHarness(windowOp, keyed);
  h.process({ user: 'a', ts: 5000, n: 1 }, { user: 'z', ts: -1, n: 2 });
  h.end();
  assert.deepEqual(h.out.records.map((o) => [o.user, o.start]), [['z', -1000], ['a', 5000]]);
});

test('offset shifts window boundaries', () => {
  const h = new OperatorHarness(
    () => tumblingEventTimeWindowOperator<Click, number, [number, number]>({ sizeMs: 1000, offsetMs: 250, eventTime: (c) => c.ts, aggregate: { create: () => 0, add: (a, c) => a + c.n, result: (a, _k, w) => [w.start, a] } }),
    keyed,
  );
  h.process({ user: 'a', ts: 200, n: 1 }, { user: 'a', ts: 250, n: 2 }, { user: 'a', ts: 1249, n: 3 });
  h.end();
  assert.deepEqual(h.out.records, [[-750, 1], [250, 5]]);
});

test('open windows and the watermark survive snapshot/restore: same output as an uninterrupted run', async () => {
  const input: Click[] = Array.from({ length: 200 }, (_, i) => ({ user: `u${i % 7}`, ts: i * 37, n: i }));
  const watermarks = [1000, 2500, 4000, 8000];
  const runAll = new OperatorHarness(windowOp, keyed);
  for (let i = 0; i < 4; i++) {
    runAll.process(...input.slice(i * 50, i * 50 + 50));
    runAll.advanceWatermark(watermarks[i]!);
  }
  runAll.process({ user: 'u1', ts: 10, n: 1 }); // late
  runAll.end();

  let h = new OperatorHarness(windowOp, keyed);
  const out: Out[] = [];
  const late: unknown[] = [];
  for (let i = 0; i < 4; i++) {
    h.process(...input.slice(i * 50, i * 50 + 50));
    h.advanceWatermark(watermarks[i]!);
    out.push(...h.out.records);
    const snap = await h.snapshot(i + 1);
    h = await h.restart(snap, windowOp); // crash right after each checkpoint
  }
  h.process({ user: 'u1', ts: 10, n: 1 });
  h.end();
  out.push(...h.out.records);
  late.push(...h.out.sideRecords(LATE_TAG));
  assert.deepEqual(out, runAll.out.records);
  assert.deepEqual(late, runAll.out.sideRecords(LATE_TAG));
  assert.equal(late.length, 1);
});

test('a record without a usable event time becomes a dead letter', () => {
  const h = new OperatorHarness(windowOp, keyed);
  h.process({ user: 'a', ts: Number.NaN, n: 1 });
  assert.equal(h.deadLetters.letters.length, 1);
  assert.equal(h.deadLetters.letters[0]!.reason, 'transform_failed');
});

test('invalid window size is rejected', () => {
  assert.throws(() => tumblingEventTimeWindowOperator({ sizeMs: 0, eventTime: () => 0, aggregate: { create: () => 0, add: (a) => a, result: (a) => a } }), /sizeMs/);
});
