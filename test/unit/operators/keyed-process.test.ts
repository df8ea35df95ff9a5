import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyedProcessOperator } from '../../../src/operators/keyed-process.js';
import { JobDefinitionError } from '../../../src/errors.js';
import type { ValueState } from '../../../src/runtime/state/keyed-state-backend.js';
import { OperatorHarness } from './operator-harness.js';

interface Order {
  user: string;
  amount: number;
}

const runningTotal = () =>
  keyedProcessOperator<Order, { user: string; total: number }, ValueState<number>>({
    declareState: (b) => b.valueState<number>({ name: 'total' }),
    process(o, total, out) {
      if (o.amount < 0) throw new Error('negative amount');
      const t = (total.get() ?? 0) + o.amount;
      total.set(t);
      out.emit({ user: out.key as string, total: t });
      if (t > 100) out.side('big', o);
    },
  });

test('per-key state, one emit per batch, side outputs by tag', () => {
  const h = new OperatorHarness(runningTotal, { keySelector: (o: Order) => o.user });
  h.process({ user: 'a', amount: 10 }, { user: 'b', amount: 5 }, { user: 'a', amount: 95 });
  assert.equal(h.out.batches.length, 1);
  assert.deepEqual(h.out.records, [
    { user: 'a', total: 10 },
    { user: 'b', total: 5 },
    { user: 'a', total: 105 },
  ]);
  assert.deepEqual(h.out.sideRecords('big'), [{ user: 'a', amount: 95 }]);
});

test('a throwing user function turns the record into a dead letter and the batch goes on', () => {
  const h = new OperatorHarness(runningTotal, { keySelector: (o: Order) => o.user });
  h.process({ user: 'a', amount: -1 }, { user: 'a', amount: 2 });
  assert.deepEqual(h.out.records, [{ user: 'a', total: 2 }]);
  assert.equal(h.deadLetters.letters.length, 1);
  assert.equal(h.deadLetters.letters[0]!.reason, 'transform_failed');
  assert.match(h.deadLetters.letters[0]!.detail, /test\.op.*negative amount/);
});

test('state survives snapshot and restart', async () => {
  const h = new OperatorHarness(runningTotal, { keySelector: (o: Order) => o.user });
  h.process({ user: 'a', amount: 10 });
  const r = await h.restart(await h.snapshot(), runningTotal);
  r.process({ user: 'a', amount: 1 });
  assert.deepEqual(r.out.records, [{ user: 'a', total: 11 }]);
});

test('on a non-keyed stream it fails at open with a message naming the step', () => {
  assert.throws(() => new OperatorHarness(runningTotal, { stepId: 'orders.total' }), (e: unknown) => e instanceof JobDefinitionError && /orders\.total.*keyBy/.test(e.message));
});
