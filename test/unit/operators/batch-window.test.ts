import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchWindowOperator, type BatchWindowOperator } from '../../../src/operators/batch-window.js';
import { isProcessingTimeAware } from '../../../src/runtime/processing-time-aware.js';
import { OperatorHarness } from './operator-harness.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('fires on count, across and within input batches', () => {
  const h = new OperatorHarness(() => batchWindowOperator<number>({ maxCount: 3 }));
  h.process(...range(0, 2));
  assert.deepEqual(h.out.records, []);
  h.process(...range(2, 9));
  assert.deepEqual(h.out.records, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  assert.equal(h.out.batches.length, 1, 'one emit per input batch');
  h.end();
  assert.equal(h.out.records.length, 3, 'nothing left to flush');
});

test('fires on estimated bytes', () => {
  const h = new OperatorHarness(() => batchWindowOperator<string>({ maxBytes: 10, estimateBytes: (s) => s.length }));
  h.process('aaaa', 'bbbb', 'cc', 'dddddddddddd', 'e');
  h.end();
  assert.deepEqual(h.out.records, [['aaaa', 'bbbb', 'cc'], ['dddddddddddd'], ['e']]);
});

test('default byte estimate is the JSON length', () => {
  const h = new OperatorHarness(() => batchWindowOperator<{ s: string }>({ maxBytes: 20 }));
  h.process({ s: 'xxxx' }, { s: 'yyyy' }); // 12 bytes each
  assert.deepEqual(h.out.records, [[{ s: 'xxxx' }, { s: 'yyyy' }]]);
});

test('fires on processing time through onProcessingTime, and on the next input when overdue', () => {
  let op!: BatchWindowOperator<number>;
  const h = new OperatorHarness(() => (op = batchWindowOperator<number>({ maxCount: 100, maxDelayMs: 1000 })));
  assert.ok(isProcessingTimeAware(op));
  assert.equal(op.nextProcessingTime(), undefined);
  const t0 = h.now;
  h.process(1, 2);
  assert.equal(op.nextProcessingTime(), t0 + 1000);
  h.now += 500;
  h.process(3);
  op.onProcessingTime(h.now, h.out);
  assert.deepEqual(h.out.records, []);
  h.now = t0 + 1000;
  op.onProcessingTime(h.now, h.out);
  assert.deepEqual(h.out.records, [[1, 2, 3]]);
  assert.equal(op.nextProcessingTime(), undefined);
  h.process(4);
  h.now += 2000;
  h.process(5); // overdue batch [4] fires before 5 joins a new one
  assert.deepEqual(h.out.records, [[1, 2, 3], [4]]);
  assert.equal(op.nextProcessingTime(), h.now + 1000);
});

test('whichever trigger comes first wins', () => {
  const h = new OperatorHarness(() => batchWindowOperator<string>({ maxCount: 3, maxBytes: 5, estimateBytes: (s) => s.length }));
  h.process('a', 'b', 'c', 'dddddd', 'e');
  assert.deepEqual(h.out.records, [['a', 'b', 'c'], ['dddddd']]);
});

test('buffered records survive snapshot/restore (bigint too), with their age', async () => {
  const create = () => batchWindowOperator<{ id: bigint }>({ maxCount: 3, maxDelayMs: 1000 });
  const h = new OperatorHarness(create);
  h.process({ id: 1n }, { id: 2n });
  const opened = h.now;
  const r = await h.restart(await h.snapshot(7), create, opened + 1500);
  r.process({ id: 3n });
  assert.deepEqual(r.out.records, [[{ id: 1n }, { id: 2n }], ]);
  r.end();
  assert.deepEqual(r.out.records, [[{ id: 1n }, { id: 2n }], [{ id: 3n }]]);
  const empty = await new OperatorHarness(create).snapshot();
  const e = new OperatorHarness(create, {}, empty.operator);
  e.end();
  assert.deepEqual(e.out.records, []);
});

test('needs at least one valid trigger', () => {
  assert.throws(() => batchWindowOperator({}), /at least one/);
  assert.throws(() => batchWindowOperator({ maxCount: 0 }), /maxCount/);
  assert.throws(() => batchWindowOperator({ maxDelayMs: -5 }), /maxDelayMs/);
});
