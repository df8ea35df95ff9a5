import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grown } from '../../../../src/runtime/state/grown-array.js';

test('grown copies every element into a larger array of the same type, the rest zeroed', () => {
  for (const make of [(n: number) => new Uint16Array(n), (n: number) => new Int32Array(n), (n: number) => new Uint32Array(n), (n: number) => new Float64Array(n)]) {
    const a = make(3);
    a.set([7, 65_535, 2]);
    const b = grown(a, 8);
    assert.equal(b.constructor, a.constructor);
    assert.equal(b.length, 8);
    assert.deepEqual([...b], [7, 65_535, 2, 0, 0, 0, 0, 0]);
    b[0] = 1;
    assert.equal(a[0], 7, 'a copy, not a view');
  }
});
