import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex, NOT_FOUND } from '../../../../src/runtime/state/heap/key-index.js';
import { hashKey } from '../../../../src/runtime/state/key-group.js';
import type { StateKey } from '../../../../src/runtime/state/state-key.js';
import { mulberry32 } from '../support/prng.js';

/** Rows handed out the way KeyRows does (freed rows reused), with the index under test beside a Map as the model. */
class Harness {
  readonly keyOf: (StateKey | undefined)[] = [];
  readonly index = new KeyIndex(this.keyOf);
  readonly model = new Map<StateKey, number>();
  private readonly free: number[] = [];

  constructor(private readonly hash: (key: StateKey) => number) {}

  add(key: StateKey): void {
    let row = this.free.pop();
    if (row === undefined) {
      row = this.keyOf.length;
      this.keyOf.push(key);
    } else {
      this.keyOf[row] = key;
    }
    this.index.insert(this.hash(key), row);
    this.model.set(key, row);
  }

  remove(key: StateKey): void {
    const row = this.model.get(key)!;
    this.index.remove(key, this.hash(key), row);
    this.keyOf[row] = undefined;
    this.free.push(row);
    this.model.delete(key);
  }

  find(key: StateKey): number {
    return this.index.find(key, this.hash(key));
  }

  /** Every key of `universe` is found at its model row, or not found when the model lacks it. */
  check(universe: readonly StateKey[], label: string): void {
    assert.equal(this.index.size, this.model.size, `${label}: size`);
    for (const key of universe) assert.equal(this.find(key), this.model.get(key) ?? NOT_FOUND, `${label}: key ${JSON.stringify(key)}`);
  }
}

/**
 * Random inserts and removals over a universe of keys, through several growths. The model is a
 * Map. Weak hashes put many keys on one probe chain, so removals shift entries back across the
 * table's end and growth moves whole chains.
 */
for (const [name, hash] of [
  ['hashKey', (k: StateKey) => hashKey(k)],
  ['16 distinct hashes, some above 2^31', (k: StateKey) => (hashKey(k) % 16) * 0x1000_0001 + 0xf000_0000 * (hashKey(k) & 1)],
  ['hashes that all land on the last slots', (k: StateKey) => 0x7fff_fff0 + (hashKey(k) % 8)],
] as const) {
  test(`key index matches a Map over random inserts and removals, through growth (${name})`, () => {
    for (const seed of [1, 2]) {
      const random = mulberry32(seed);
      const universe: StateKey[] = [];
      for (let i = 0; i < 6_000; i++) universe.push(i % 5 === 0 ? i : `order-${i}`);
      const h = new Harness(hash);
      let growths = 0;
      let wasGrowing = false;
      const steps = name === 'hashKey' ? 60_000 : 8_000;
      // Insert-heavy first (the table grows past 1,024, 2,048 and 4,096 slots), then balanced.
      for (let step = 0; step < steps; step++) {
        const key = universe[Math.floor(random() * universe.length)]!;
        const insertShare = step < steps / 2 ? 0.8 : 0.5;
        if (random() < insertShare) {
          if (!h.model.has(key)) h.add(key);
        } else if (h.model.has(key)) {
          h.remove(key);
        }
        if (h.index.growing && !wasGrowing) growths++;
        wasGrowing = h.index.growing;
        if (h.index.growing || step % 997 === 0) {
          // Every key the step touched, while growing, and all of them now and then.
          const row = h.find(key);
          assert.equal(row, h.model.get(key) ?? NOT_FOUND, `seed ${seed} step ${step}: key ${JSON.stringify(key)}`);
        }
        if (step % 4_999 === 0) h.check(universe, `seed ${seed} step ${step}`);
      }
      h.check(universe, `seed ${seed} end`);
      assert.ok(growths >= 2, `the index grew ${growths} times`);
    }
  });
}

test('key index: keys removed while the index grows are gone, in the old table and in the new one', () => {
  const h = new Harness((k) => hashKey(k));
  const keys: string[] = [];
  let i = 0;
  while (!h.index.growing) {
    keys.push(`k${i}`);
    h.add(`k${i++}`);
  }
  // Some keys are still in the old table (the move has just begun), the last one is in the new.
  for (const key of keys.filter((_, n) => n % 3 === 0)) h.remove(key);
  assert.ok(h.index.growing, 'still growing: removals move nothing');
  h.check(keys, 'after removals during growth');
  while (h.index.growing) {
    keys.push(`k${i}`);
    h.add(`k${i++}`);
  }
  h.check(keys, 'after the move ended');
  for (const key of keys.filter((_, n) => n % 3 === 1)) h.remove(key);
  h.check(keys, 'after removals after growth');
});

test('key index tells equal hashes apart by the key, and 1 from "1"', () => {
  const h = new Harness(() => 42);
  h.add(1);
  h.add('1');
  h.add('a');
  assert.equal(h.find(1), 0);
  assert.equal(h.find('1'), 1);
  assert.equal(h.find('a'), 2);
  assert.equal(h.find('b'), NOT_FOUND);
  h.remove('1');
  assert.equal(h.find('1'), NOT_FOUND);
  assert.equal(h.find('a'), 2, 'shifted back into the freed slot and still found');
  h.check([1, '1', 'a', 'b'], 'end');
});

test('key index refuses to remove a key it does not hold at that row', () => {
  const h = new Harness((k) => hashKey(k));
  h.add('a');
  assert.throws(() => h.index.remove('b', hashKey('b'), 0), /no key "b" at row 0/);
});
