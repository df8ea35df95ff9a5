import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import type { StateKey } from '../../../../src/runtime/state/state-key.js';
import { mulberry32 } from '../support/prng.js';
import { BackendFactory, TestClock } from './support/backend-factory.js';

const TTL = 1000;

/** Keys holding a row in the backend (its private KeyRows, looked at only here). */
function rowCount(b: HeapKeyedStateBackend): number {
  return (b as unknown as { rows: { size: number } }).rows.size;
}

function declare(b: HeapKeyedStateBackend) {
  return {
    v: b.valueState<number>({ name: 'v' }),
    vt: b.valueState<number>({ name: 'vt', ttlMs: TTL }),
    m: b.mapState<string, number>({ name: 'm' }),
    mt: b.mapState<string, number>({ name: 'mt', ttlMs: TTL }),
  };
}

/**
 * What the four states should hold, kept the plainest way: a Map per state with each entry's
 * write time; TTL decides liveness on reading, as the API promises.
 */
class Model {
  readonly v = new Map<StateKey, number>();
  readonly vt = new Map<StateKey, { value: number; t: number }>();
  readonly m = new Map<StateKey, Map<string, number>>();
  readonly mt = new Map<StateKey, Map<string, { value: number; t: number }>>();

  constructor(private readonly time: TestClock) {}

  private live(t: number): boolean {
    return this.time.nowMs - t < TTL;
  }

  vtGet(key: StateKey): number | undefined {
    const e = this.vt.get(key);
    return e !== undefined && this.live(e.t) ? e.value : undefined;
  }

  mtGet(key: StateKey, mapKey: string): number | undefined {
    const e = this.mt.get(key)?.get(mapKey);
    return e !== undefined && this.live(e.t) ? e.value : undefined;
  }

  /** Live keys of each state, sorted for comparison. */
  liveKeys(): Record<string, string[]> {
    const sorted = (keys: Iterable<StateKey>) => [...keys].map(String).sort();
    return {
      v: sorted(this.v.keys()),
      vt: sorted([...this.vt].filter(([, e]) => this.live(e.t)).map(([k]) => k)),
      m: sorted([...this.m].filter(([, inner]) => inner.size > 0).map(([k]) => k)),
      mt: sorted([...this.mt].filter(([, inner]) => [...inner.values()].some((e) => this.live(e.t))).map(([k]) => k)),
    };
  }

  /** Live entries of a TTL map, sorted. */
  mtEntries(key: StateKey): [string, number][] {
    return [...(this.mt.get(key) ?? new Map<string, { value: number; t: number }>())].filter(([, e]) => this.live(e.t)).map(([k, e]): [string, number] => [k, e.value]).sort();
  }
}

function liveKeysOf(b: HeapKeyedStateBackend): Record<string, string[]> {
  const sorted = (name: string) => [...b.keys(name)].map(String).sort();
  return { v: sorted('v'), vt: sorted('vt'), m: sorted('m'), mt: sorted('mt') };
}

test('random writes, clears, reads and expiry over four states agree with a plain model; rows are reused and none leaks', async () => {
  for (const seed of [1, 2, 3]) {
    const rnd = mulberry32(seed); // seeded: a failure replays
    const time = new TestClock();
    const factory = new BackendFactory(time);
    const b = factory.heap();
    const s = declare(b);
    const model = new Model(time);
    const keys: StateKey[] = [...Array.from({ length: 40 }, (_, i) => `k${i}`), ...Array.from({ length: 10 }, (_, i) => i)];
    const mapKeys = ['a', 'b', 'c'];
    let expiredReads = 0;
    for (let step = 0; step < 20_000; step++) {
      const key = keys[Math.floor(rnd() * keys.length)]!;
      const mapKey = mapKeys[Math.floor(rnd() * mapKeys.length)]!;
      const value = Math.floor(rnd() * 1000);
      b.setCurrentKey(key);
      const op = Math.floor(rnd() * 12);
      switch (op) {
        case 0:
          s.v.set(value);
          model.v.set(key, value);
          break;
        case 1:
          s.v.clear();
          model.v.delete(key);
          break;
        case 2:
        case 3:
          s.vt.set(value);
          model.vt.set(key, { value, t: time.nowMs });
          break;
        case 4:
          s.vt.clear();
          model.vt.delete(key);
          break;
        case 5:
          s.m.set(mapKey, value);
          if (!model.m.has(key)) model.m.set(key, new Map());
          model.m.get(key)!.set(mapKey, value);
          break;
        case 6:
          s.m.delete(mapKey);
          model.m.get(key)?.delete(mapKey);
          break;
        case 7:
          s.mt.set(mapKey, value);
          if (!model.mt.has(key)) model.mt.set(key, new Map());
          model.mt.get(key)!.set(mapKey, { value, t: time.nowMs });
          break;
        case 8:
          s.mt.clear();
          model.mt.delete(key);
          break;
        case 9:
          s.m.clear();
          model.m.delete(key);
          break;
        case 10:
          time.nowMs += Math.floor(rnd() * 200);
          break;
        default:
          b.afterBatch();
      }
      // Every state of the key reads as the model says, after every step.
      const expected = model.vtGet(key);
      if (expected === undefined && model.vt.has(key)) expiredReads++;
      assert.equal(s.vt.get(), expected, `seed ${seed} step ${step}: vt of ${String(key)}`);
      assert.equal(s.v.get(), model.v.get(key), `seed ${seed} step ${step}: v of ${String(key)}`);
      assert.equal(s.m.get(mapKey), model.m.get(key)?.get(mapKey), `seed ${seed} step ${step}: m of ${String(key)}`);
      assert.equal(s.mt.get(mapKey), model.mtGet(key, mapKey), `seed ${seed} step ${step}: mt of ${String(key)}`);
      if (step % 500 === 0) {
        assert.deepEqual([...s.mt.entries()].sort(), model.mtEntries(key), `seed ${seed} step ${step}: mt entries of ${String(key)}`);
        assert.deepEqual(liveKeysOf(b), model.liveKeys(), `seed ${seed} step ${step}: live keys`);
      }
    }
    assert.ok(expiredReads > 100, `the run read expired entries (${expiredReads})`);

    // The checkpointed state restores to the same live state in a new backend.
    const { chain } = await b.snapshot(1);
    const restored = factory.heap({}, 'job');
    await restored.restore([{ kind: 'chain', input: { chain } }]);
    const r = declare(restored);
    assert.deepEqual(liveKeysOf(restored), model.liveKeys(), `seed ${seed}: keys after restore`);
    for (const key of keys) {
      restored.setCurrentKey(key);
      assert.equal(r.v.get(), model.v.get(key));
      assert.equal(r.vt.get(), model.vtGet(key));
      for (const mapKey of mapKeys) {
        assert.equal(r.m.get(mapKey), model.m.get(key)?.get(mapKey));
        assert.equal(r.mt.get(mapKey), model.mtGet(key, mapKey));
      }
    }

    // Once every TTL entry has expired and left, only keys with state without TTL keep a row.
    time.nowMs += TTL;
    b.afterBatch();
    const withState = new Set([...model.v.keys(), ...[...model.m].filter(([, inner]) => inner.size > 0).map(([k]) => k)]);
    assert.equal(rowCount(b), withState.size, `seed ${seed}: rows left`);
  }
});

test('a freed row given to another key carries nothing of the key before it', () => {
  const time = new TestClock();
  const b = new BackendFactory(time).heap();
  const s = declare(b);
  b.setCurrentKey('first');
  s.v.set(1);
  s.vt.set(2);
  s.m.set('a', 3);
  s.mt.set('b', 4);
  s.v.clear();
  s.vt.clear();
  s.m.clear();
  s.mt.clear();
  assert.equal(rowCount(b), 0);
  b.setCurrentKey('second');
  s.v.set(10); // takes the freed row
  assert.equal(rowCount(b), 1);
  assert.equal(s.vt.get(), undefined);
  assert.equal(s.m.get('a'), undefined);
  assert.equal(s.mt.get('b'), undefined);
  assert.deepEqual([...b.keys('v')], ['second']);
  assert.deepEqual([...b.keys('m')], []);
  b.setCurrentKey('first');
  assert.equal(s.v.get(), undefined);
  assert.equal(s.vt.get(), undefined);
});

test('a TTL entry read after it expired frees its key row when nothing else holds it', () => {
  const time = new TestClock();
  const b = new BackendFactory(time).heap();
  const s = declare(b);
  b.setCurrentKey('a');
  s.vt.set(1);
  b.setCurrentKey('b');
  s.vt.set(2);
  s.v.set(3);
  time.nowMs += TTL;
  b.setCurrentKey('a');
  assert.equal(s.vt.get(), undefined);
  b.setCurrentKey('b');
  assert.equal(s.vt.get(), undefined);
  assert.equal(rowCount(b), 1, 'b still has a value without TTL');
  assert.equal(s.v.get(), 3);
  s.vt.set(4); // b's row is still its own
  assert.equal(s.vt.get(), 4);
});

test('past the first 1,024 rows the columns grow: values, write times and expiry order carry over', () => {
  const time = new TestClock();
  const start = time.nowMs;
  const b = new BackendFactory(time).heap();
  const s = declare(b);
  for (let i = 0; i < 3000; i++) {
    time.nowMs = start + 400 * Math.floor(i / 1000); // k0–k999 at +0, k1000–k1999 at +400, k2000–k2999 at +800
    b.setCurrentKey(`k${i}`);
    s.vt.set(i);
  }
  time.nowMs = start + 1050; // k0–k999 expired (1,050 ms old), k1000–k1999 650 ms, k2000–k2999 250 ms
  b.afterBatch();
  b.afterBatch(); // 512 expirations a batch at most
  assert.equal(rowCount(b), 2000);
  for (const i of [0, 999, 1000, 1500, 2999]) {
    b.setCurrentKey(`k${i}`);
    assert.equal(s.vt.get(), i < 1000 ? undefined : i);
  }
});
