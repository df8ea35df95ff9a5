import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterOperator } from '../../../../src/runtime/core-operators/filter.js';
import { flatMapOperator } from '../../../../src/runtime/core-operators/flat-map.js';
import { mapOperator } from '../../../../src/runtime/core-operators/map.js';
import type { Operator } from '../../../../src/runtime/operator.js';
import { OperatorHarness } from '../../operators/operator-harness.js';

test('map applies the function per record and keeps order', () => {
  const h = new OperatorHarness(() => mapOperator((n: number) => n * 2)).process(1, 2, 3);
  assert.deepEqual(h.out.records, [2, 4, 6]);
});

test('filter keeps matching records; flatMap expands', () => {
  assert.deepEqual(new OperatorHarness(() => filterOperator((n: number) => n % 2 === 1)).process(1, 2, 3, 4, 5).out.records, [1, 3, 5]);
  assert.deepEqual(new OperatorHarness(() => flatMapOperator((n: number) => Array.from({ length: n }, () => n))).process(0, 1, 2).out.records, [1, 2, 2]);
});

test('a throwing user function turns that record into a dead letter naming the step; the batch goes on', () => {
  const fail = (n: number) => {
    if (n === 2) throw new Error('two is not allowed');
  };
  const operators: (() => Operator<number, number>)[] = [
    () => mapOperator((n: number) => (fail(n), n)),
    () => filterOperator((n: number) => (fail(n), true)),
    () => flatMapOperator((n: number) => (fail(n), [n])),
  ];
  for (const create of operators) {
    const h = new OperatorHarness(create, { stepId: 'flow.check' }).process(1, 2, 3);
    assert.deepEqual(h.out.records, [1, 3]);
    assert.equal(h.deadLetters.letters.length, 1);
    assert.equal(h.deadLetters.letters[0]!.reason, 'transform_failed');
    assert.match(h.deadLetters.letters[0]!.detail, /flow\.check.*two is not allowed/);
    assert.equal(h.deadLetters.letters[0]!.payload, '2');
  }
});
