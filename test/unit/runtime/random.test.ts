import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mixSeed, mulberry32, SeededRandom } from '../../../src/runtime/random.js';

test('same seed, same sequence; different seeds differ', () => {
  const a = mulberry32(5);
  const b = mulberry32(5);
  const c = mulberry32(6);
  const sa = Array.from({ length: 10 }, a);
  assert.deepEqual(sa, Array.from({ length: 10 }, b));
  assert.notDeepEqual(sa, Array.from({ length: 10 }, c));
  for (const x of sa) assert.ok(x >= 0 && x < 1);
});

test('reseed restarts the sequence in place', () => {
  const r = new SeededRandom(9);
  const first = [r.next(), r.next()];
  r.reseed(9);
  assert.deepEqual([r.next(), r.next()], first);
});

test('mixSeed separates indices, including past 2^32', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) seen.add(mixSeed(1, i));
  assert.ok(seen.size > 9_990);
  assert.notEqual(mixSeed(1, 5), mixSeed(1, 5 + 2 ** 32));
  assert.notEqual(mixSeed(1, 5), mixSeed(2, 5));
  assert.equal(mixSeed(3, 2 ** 40 + 7), mixSeed(3, 2 ** 40 + 7));
});

test('roughly uniform', () => {
  const r = mulberry32(123);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) buckets[Math.floor(r() * 10)]! += 1;
  for (const b of buckets) assert.ok(b > 9_500 && b < 10_500, `bucket ${b}`);
});
