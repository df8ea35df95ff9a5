import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CorruptCheckpointError, RestoreError } from '../../../../src/errors.js';
import { keyGroupFor, keyGroupRange } from '../../../../src/runtime/state/key-group.js';
import { KeyGroupOutOfRangeError, StateDeclarationError } from '../../../../src/runtime/state/state-errors.js';
import type { StateChain } from '../../../../src/runtime/state/snapshot/state-chain.js';
import { BackendFactory, TestClock, valuesOf } from './support/backend-factory.js';

const chainOf = (chain: StateChain) => [{ kind: 'chain' as const, input: { chain } }];

test('value state is scoped to the current key; 1 and "1" are different keys', () => {
  const b = new BackendFactory().heap();
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
  const b = new BackendFactory().heap();
  assert.equal(b.valueState({ name: 'x' }), b.valueState({ name: 'x' }));
  assert.throws(() => b.mapState({ name: 'x' }), StateDeclarationError);
  assert.throws(() => b.valueState({ name: 'x', ttlMs: 5 }), StateDeclarationError);
  assert.throws(() => b.valueState({ name: 'y', ttlMs: 0 }), StateDeclarationError);
});

test('writing before setCurrentKey fails loudly; non-finite number keys are rejected', () => {
  const b = new BackendFactory().heap();
  assert.throws(() => b.valueState<number>({ name: 'v' }).set(1), /before setCurrentKey/);
  assert.throws(() => b.mapState<string, number>({ name: 'm' }).set('k', 1), /before setCurrentKey/);
  assert.throws(() => b.setCurrentKey(NaN), TypeError);
  assert.throws(() => b.getCurrentKey(), /before setCurrentKey/);
});

test('map state: get/set/has/delete/entries/clear per key', () => {
  const b = new BackendFactory().heap();
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
  const time = new TestClock();
  const b = new BackendFactory(time).heap();
  const s = b.valueState<string>({ name: 'seen', ttlMs: 1000 });
  b.setCurrentKey('a');
  s.set('v1');
  time.nowMs += 999;
  b.setCurrentKey('a');
  assert.equal(s.get(), 'v1');
  s.set('v2'); // refresh at +999
  time.nowMs += 999;
  b.setCurrentKey('a');
  assert.equal(s.get(), 'v2');
  time.nowMs += 1;
  b.setCurrentKey('a');
  assert.equal(s.get(), undefined);
  assert.deepEqual([...b.keys('seen')], []);
});

test('TTL map state: entries expire individually', () => {
  const time = new TestClock();
  const b = new BackendFactory(time).heap();
  const m = b.mapState<string, number>({ name: 'm', ttlMs: 100 });
  b.setCurrentKey('k');
  m.set('old', 1);
  time.nowMs += 60;
  b.setCurrentKey('k');
  m.set('new', 2);
  time.nowMs += 50;
  b.setCurrentKey('k');
  assert.equal(m.has('old'), false);
  assert.equal(m.get('new'), 2);
  assert.deepEqual([...m.entries()], [['new', 2]]);
  time.nowMs += 100;
  b.setCurrentKey('k');
  assert.deepEqual([...m.entries()], []);
  assert.deepEqual([...b.keys('m')], []);
});

test('expired keys leave memory after each batch without being read, oldest first, never by a scan', () => {
  const time = new TestClock();
  const b = new BackendFactory(time).heap();
  const s = b.valueState<number>({ name: 's', ttlMs: 1000 });
  for (let i = 0; i < 100; i++) {
    b.setCurrentKey(`k${i}`);
    s.set(i);
    if (i === 49) time.nowMs += 600;
  }
  // k0 rewritten: it moves behind the others (write order), so it is not among the expired.
  b.setCurrentKey('k0');
  s.set(0);
  time.nowMs += 500; // k1..k49 are 1100 ms old, k50..k99 and k0 500 ms
  assert.equal(b.size, 100);
  b.afterBatch();
  assert.equal(b.size, 51);
  b.setCurrentKey('k0');
  assert.equal(s.get(), 0);
});

test('expired entries are left out of a restore, and write times survive it', async () => {
  const time = new TestClock();
  const factory = new BackendFactory(time);
  const b = factory.heap();
  const s = b.valueState<number>({ name: 's', ttlMs: 1000 });
  for (let i = 0; i < 100; i++) {
    b.setCurrentKey(`k${i}`);
    s.set(i);
    if (i === 49) time.nowMs += 600;
  }
  time.nowMs += 500; // first 50 are 1100 ms old, last 50 are 500 ms old
  const { chain } = await b.snapshot(1);
  const restored = factory.heap();
  await restored.restore(chainOf(chain));
  assert.equal(valuesOf(restored, 's', 1000).size, 50);
  time.nowMs += 500;
  const later = factory.heap();
  await later.restore(chainOf(chain));
  assert.equal(valuesOf(later, 's', 1000).size, 0, 'k50..k99 still expire on schedule after a restore');
});

test('snapshot → restore gives equal state (objects, bigint, numbers and strings as keys, map state), declared before or after', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
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
  const { chain } = await b.snapshot(1);
  assert.equal(chain.files.length, 1);
  assert.equal(chain.files[0]!.kind, 'base');
  const bytes = readFileSync(join(factory.dir, 'job', 'shared', chain.files[0]!.name));
  assert.equal(bytes.subarray(0, 4).toString('ascii'), 'SLKD');
  const r = factory.heap();
  await r.restore(chainOf(chain)); // before declaration: created from the file's state table
  const rv = r.valueState<unknown>({ name: 'v' });
  const rm = r.mapState<number, unknown>({ name: 'm' });
  assert.equal([...r.keys('v')].length, 1000);
  for (const [key, value] of expected) {
    r.setCurrentKey(key);
    assert.deepEqual(rv.get(), value);
    const i = typeof key === 'number' ? key : Number(key.slice(4));
    assert.deepEqual([...rm.entries()], [[i, `w${i}`], [i + 1, null]]);
  }
});

test('a checkpoint writes only what changed; an idle one writes nothing; the chain restores to the latest state', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = b.valueState<number>({ name: 'n' });
  const oracle = new Map<string, number>();
  for (let i = 0; i < 5000; i++) {
    b.setCurrentKey(`user-${i}`);
    s.set(i);
    oracle.set(`user-${i}`, i);
  }
  const first = await b.snapshot(1);
  assert.ok(first.writtenBytes > 50_000, `the first checkpoint writes everything (${first.writtenBytes} bytes)`);
  for (let i = 0; i < 50; i++) {
    b.setCurrentKey(`user-${i * 100}`);
    s.set(-i);
    oracle.set(`user-${i * 100}`, -i);
  }
  b.setCurrentKey('user-1');
  s.clear();
  oracle.delete('user-1');
  const second = await b.snapshot(2);
  assert.equal(second.chain.files.length, 2);
  assert.equal(second.chain.files[1]!.kind, 'delta');
  assert.equal(second.chain.files[1]!.entries, 51, '50 updates and 1 deletion');
  assert.ok(second.writtenBytes < first.writtenBytes / 20, `delta ${second.writtenBytes} vs full ${first.writtenBytes}`);
  const idle = await b.snapshot(3);
  assert.equal(idle.writtenBytes, 0);
  assert.deepEqual(idle.chain, second.chain);
  const r = factory.heap();
  await r.restore(chainOf(idle.chain));
  assert.deepEqual(valuesOf(r, 'n'), oracle);
});

test('materialization merges base and deltas in the background into a new base that restores the same state', async () => {
  const factory = new BackendFactory();
  const b = factory.heap({ materialization: { maxDeltas: 3, maxDeltaRatio: 100 } });
  const s = b.valueState<number>({ name: 'n' });
  const oracle = new Map<string, number>();
  let chain: StateChain | undefined;
  for (let checkpoint = 1; checkpoint <= 8; checkpoint++) {
    for (let i = 0; i < 200; i++) {
      const key = `k${(checkpoint * 37 + i * 11) % 500}`;
      b.setCurrentKey(key);
      if ((i + checkpoint) % 13 === 0) {
        s.clear();
        oracle.delete(key);
      } else {
        s.set(checkpoint * 1000 + i);
        oracle.set(key, checkpoint * 1000 + i);
      }
    }
    chain = (await b.snapshot(checkpoint)).chain;
    await b.close(); // lets a background materialization finish
  }
  assert.ok(chain!.files.length <= 4, `the chain was materialized (${chain!.files.length} files)`);
  const r = factory.heap();
  await r.restore(chainOf(chain!));
  assert.deepEqual(valuesOf(r, 'n'), oracle);
});

test('a failed write loses nothing: the next checkpoint writes its changes too', async () => {
  const factory = new BackendFactory();
  let failNext = true;
  const flaky = Object.create(factory.store) as typeof factory.store;
  flaky.writeSharedState = (scope, name, chunks) => {
    if (failNext) {
      failNext = false;
      return Promise.reject(new Error('store unreachable'));
    }
    return factory.store.writeSharedState(scope, name, chunks);
  };
  const b = factory.heapOn(flaky);
  const s = b.valueState<number>({ name: 'n' });
  b.setCurrentKey('a');
  s.set(1);
  await assert.rejects(b.snapshot(1), /store unreachable/);
  b.setCurrentKey('b');
  s.set(2);
  const { chain } = await b.snapshot(2);
  const r = factory.heap();
  await r.restore(chainOf(chain));
  assert.deepEqual(valuesOf(r, 'n'), new Map([['a', 1], ['b', 2]]));
});

test('restore filters key groups: two halves of a rescale together hold exactly the original state', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  const s = b.valueState<number>({ name: 'n' });
  const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
  for (const [i, k] of keys.entries()) {
    b.setCurrentKey(k);
    s.set(i);
  }
  const { chain } = await b.snapshot(1);
  const seen = new Map<string, number>();
  for (let instance = 0; instance < 2; instance++) {
    const range = keyGroupRange(instance, 2);
    const part = factory.heap({ keyGroupRange: range });
    await part.restore(chainOf(chain));
    for (const [k, v] of valuesOf(part, 'n')) {
      const g = keyGroupFor(k);
      assert.ok(g >= range.start && g <= range.end, `key ${k} in group ${g} outside ${range.start}..${range.end}`);
      assert.ok(!seen.has(k as string));
      seen.set(k as string, v as number);
    }
    const foreign = keys.find((k) => keyGroupFor(k) < range.start || keyGroupFor(k) > range.end)!;
    assert.throws(() => part.setCurrentKey(foreign), KeyGroupOutOfRangeError);
  }
  assert.equal(seen.size, keys.length);
  for (const [i, k] of keys.entries()) assert.equal(seen.get(k), i);

  // Several restores merge into one backend (scale-in), and its first checkpoint is a new base of its own.
  const whole = factory.heap({}, 'job.merged');
  await whole.restore([
    { kind: 'chain', input: { chain, keyGroups: keyGroupRange(0, 2) } },
    { kind: 'chain', input: { chain, keyGroups: keyGroupRange(1, 2) } },
  ]);
  const merged = await whole.snapshot(1);
  assert.equal(merged.chain.files.length, 1);
  assert.equal(merged.chain.files[0]!.scope, 'job.merged');
  const again = factory.heap();
  await again.restore(chainOf(merged.chain));
  assert.equal(valuesOf(again, 'n').size, keys.length);
});

test('restore rejects a different maxParallelism, a kind mismatch and a corrupt file', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  b.setCurrentKey('k');
  b.valueState<number>({ name: 's' }).set(1);
  const { chain } = await b.snapshot(1);
  await assert.rejects(factory.heap({ maxParallelism: 64 }).restore(chainOf(chain)), RestoreError);
  const declaredFirst = factory.heap();
  declaredFirst.mapState({ name: 's' });
  await assert.rejects(declaredFirst.restore(chainOf(chain)), RestoreError);
  const declaredLater = factory.heap();
  await declaredLater.restore(chainOf(chain));
  assert.throws(() => declaredLater.mapState({ name: 's' }), RestoreError);
  const file = join(factory.dir, 'job', 'shared', readdirSync(join(factory.dir, 'job', 'shared'))[0]!);
  const bytes = readFileSync(file);
  bytes[bytes.length - 10]! ^= 0xff;
  writeFileSync(file, bytes);
  await assert.rejects(factory.heap().restore(chainOf(chain)), CorruptCheckpointError);
});

test('restored state that is never declared is carried into later checkpoints, even through a new base', async () => {
  const factory = new BackendFactory();
  const b = factory.heap();
  b.setCurrentKey('k');
  b.valueState<number>({ name: 'kept' }).set(7);
  const first = await b.snapshot(1);
  const r = factory.heap({}, 'job.other'); // another scope: its first checkpoint merges into a base of its own
  await r.restore(chainOf(first.chain));
  const second = await r.snapshot(2);
  assert.equal(second.chain.files[0]!.scope, 'job.other');
  const again = factory.heap();
  await again.restore(chainOf(second.chain));
  again.setCurrentKey('k');
  assert.equal(again.valueState<number>({ name: 'kept' }).get(), 7);
});

test('TTL declared after a snapshot without TTL: restored entries start their TTL at restore', async () => {
  const time = new TestClock(5_000);
  const factory = new BackendFactory(time);
  const plain = factory.heap();
  plain.setCurrentKey('k');
  plain.valueState<number>({ name: 's' }).set(1);
  const { chain } = await plain.snapshot(1);
  const b = factory.heap();
  await b.restore(chainOf(chain));
  const s = b.valueState<number>({ name: 's', ttlMs: 100 });
  b.setCurrentKey('k');
  assert.equal(s.get(), 1);
  time.nowMs += 100;
  b.setCurrentKey('k');
  assert.equal(s.get(), undefined);
});

test('a snapshot of the previous JSON format restores, and the first checkpoint stores it in the binary format', async () => {
  const time = new TestClock(10_000);
  const factory = new BackendFactory(time);
  // Written by hand, as the previous release wrote it: 'SLKS', version 1, JSON.
  const doc = {
    maxParallelism: 128,
    states: [
      { name: 'seen', kind: 'value', ttlMs: 60_000, groups: [[keyGroupFor('a'), [['a', 1, 9_000]]], [keyGroupFor('b'), [['b', 1, 9_500]]]] },
      { name: 'totals', kind: 'map', ttlMs: null, groups: [[keyGroupFor(7), [[7, [['x', { $bigint: '12345678901234567890' }]]]]]] },
    ],
  };
  const legacy = Buffer.concat([Buffer.from('SLKS'), Buffer.from([1]), Buffer.from(JSON.stringify(doc))]);
  const b = factory.heap();
  await b.restore([{ kind: 'legacy', bytes: legacy }]);
  assert.deepEqual(valuesOf(b, 'seen', 60_000), new Map([['a', 1], ['b', 1]]));
  const { chain } = await b.snapshot(1);
  const r = factory.heap();
  await r.restore(chainOf(chain));
  r.setCurrentKey(7);
  assert.equal(r.mapState<string, bigint>({ name: 'totals' }).get('x'), 12345678901234567890n);
  assert.equal(valuesOf(r, 'seen', 60_000).size, 2);
  const badVersion = Buffer.from(legacy);
  badVersion[4] = 99;
  await assert.rejects(factory.heap().restore([{ kind: 'legacy', bytes: badVersion }]), /version 99/);
});

test('a store slower than the task holds input back once changelog segments pile up, and loses none of them', async () => {
  const factory = new BackendFactory();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const slow = Object.create(factory.store) as typeof factory.store;
  slow.writeSharedState = async (scope, name, chunks) => {
    await gate;
    return factory.store.writeSharedState(scope, name, chunks);
  };
  const b = factory.heapOn(slow, { segmentBytes: 1024 });
  const s = b.valueState<number>({ name: 'n' });
  const oracle = new Map<string, number>();
  let batches = 0;
  // Micro-batches of 100 new keys (several KiB of changelog each) while the store takes nothing.
  while (b.backpressure() === undefined && batches < 1000) {
    for (let i = 0; i < 100; i++) {
      const key = `k-${batches * 100 + i}`;
      b.setCurrentKey(key);
      s.set(batches);
      oracle.set(key, batches);
    }
    b.afterBatch();
    batches++;
  }
  assert.ok(batches < 1000, 'the backend asked to hold input back');
  assert.ok(batches >= 4, `a few segments may queue first, held back after ${batches}`);
  const until = b.backpressure()!;
  open();
  await until;
  const { chain } = await b.snapshot(1);
  assert.equal(b.backpressure(), undefined);
  const r = factory.heap();
  await r.restore(chainOf(chain));
  assert.deepEqual(valuesOf(r, 'n'), oracle);
});
