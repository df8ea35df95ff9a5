/**
 * Value-state writes are logged once per changed key and segment, on both backends: a hot key
 * written thousands of times between two checkpoints costs one changelog record, carrying its
 * last value (or its deletion) and its last write time; keys that do not repeat go straight to
 * the log. The expected state is kept in plain Maps beside the backend; the changelog's size is
 * taken from what the backend hands to its snapshot writer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateChangelog } from '../../../../src/runtime/state/changelog/state-changelog.js';
import { DiskKeyedStateBackend } from '../../../../src/runtime/state/disk/disk-keyed-state-backend.js';
import { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend } from '../../../../src/runtime/state/keyed-state-backend.js';
import type { SnapshotFileWriter } from '../../../../src/runtime/state/snapshot/snapshot-file-writer.js';
import type { StateChain } from '../../../../src/runtime/state/snapshot/state-chain.js';
import { BackendFactory, valuesOf } from './support/backend-factory.js';

const chainOf = (chain: StateChain) => [{ kind: 'chain' as const, input: { chain } }];

type Kind = 'heap' | 'disk';
const KINDS: readonly Kind[] = ['heap', 'disk'];

/** A backend of `kind` (opened) whose snapshot writer counts the changelog bytes it is handed. */
async function observedBackend(factory: BackendFactory, kind: Kind, segmentBytes?: number): Promise<{ backend: HeapKeyedStateBackend | DiskKeyedStateBackend; logBytes: number[] }> {
  const context = factory.context();
  const logBytes: number[] = [];
  const writer: SnapshotFileWriter = {
    write: (job, lane) => {
      logBytes.push(job.logs.reduce((n, log) => n + log.byteLength, 0));
      return context.writer.write(job, lane);
    },
  };
  const options = segmentBytes === undefined ? {} : { segmentBytes };
  if (kind === 'heap') return { backend: new HeapKeyedStateBackend({ ...context, writer }, options), logBytes };
  const backend = new DiskKeyedStateBackend({ ...context, writer }, options);
  await backend.restore([]);
  return { backend, logBytes };
}

/** A heap backend restored from `chain` (either backend's: they read each other's checkpoints; the heap one lists its keys). */
async function restoredFrom(factory: BackendFactory, chain: StateChain): Promise<KeyedStateBackend & { close(): Promise<void> }> {
  const backend = factory.heap();
  await backend.restore(chainOf(chain));
  return backend;
}

const KEYS = 100;
const ROUNDS = 300;
const TTL_MS = 60_000;

for (const kind of KINDS) {
  test(`${kind}: a hot key is logged once per checkpoint with its last value, deletion and write time; the chain restores to the latest state`, async () => {
    const factory = new BackendFactory();
    const { backend: b, logBytes } = await observedBackend(factory, kind);
    const counts = b.valueState<number>({ name: 'count' });
    const lastSeen = b.valueState<{ round: number }>({ name: 'last-seen', ttlMs: TTL_MS });
    const expectedCounts = new Map<string, number>();
    const expectedSeen = new Map<string, { round: number }>();

    /** Every key counts once per round; a tenth of the keys is cleared each round and starts again. */
    const play = (fromRound: number, toRound: number) => {
      for (let round = fromRound; round < toRound; round++) {
        factory.time.nowMs += 10;
        for (let k = 0; k < KEYS; k++) {
          const key = `user-${k}`;
          b.setCurrentKey(key);
          if (k % 10 === round % 10) {
            counts.clear();
            expectedCounts.delete(key);
          } else {
            counts.set((counts.get() ?? 0) + 1);
            expectedCounts.set(key, (expectedCounts.get(key) ?? 0) + 1);
          }
          lastSeen.set({ round });
          expectedSeen.set(key, { round });
        }
        b.afterBatch();
      }
    };

    play(0, ROUNDS);
    await b.snapshot(1);
    // 2 × 100 keys changed, 300 × 100 × 2 writes: one record per key and state (< 40 bytes each).
    const firstLog = logBytes.reduce((n, bytes) => n + bytes, 0);
    assert.ok(firstLog > 0 && firstLog < 2 * KEYS * 40, `the changelog of checkpoint 1 holds each key once per state (${firstLog} bytes)`);

    play(ROUNDS, ROUNDS + 7);
    logBytes.length = 0;
    const second = await b.snapshot(2);
    const secondLog = logBytes.reduce((n, bytes) => n + bytes, 0);
    assert.ok(secondLog < 2 * KEYS * 40, `the changelog of checkpoint 2 holds each key once per state (${secondLog} bytes)`);
    assert.equal(second.chain.files.at(-1)!.entries, 2 * KEYS, 'every key of both states changed once more');

    const lastWrite = factory.time.nowMs;
    const restored = await restoredFrom(factory, second.chain);
    assert.deepEqual(valuesOf(restored, 'count'), expectedCounts, 'counts, with the keys cleared last absent');
    assert.deepEqual(valuesOf(restored, 'last-seen', TTL_MS), expectedSeen);
    // The write time kept is the last write's: the keys live until exactly TTL after it.
    factory.time.nowMs = lastWrite + TTL_MS - 1;
    assert.equal(valuesOf(restored, 'last-seen', TTL_MS).size, KEYS, 'alive 1 ms before their TTL after the last write');
    factory.time.nowMs = lastWrite + TTL_MS;
    assert.equal(valuesOf(restored, 'last-seen', TTL_MS).size, 0, 'expired at their TTL after the last write');
    await Promise.all([b.close(), restored.close()]);
  });

  test(`${kind}: a key written and then cleared before the checkpoint is a deletion of what an earlier checkpoint holds`, async () => {
    const factory = new BackendFactory();
    const { backend: b } = await observedBackend(factory, kind);
    const s = b.valueState<string>({ name: 'v' });
    for (const key of ['a', 'b', 'c']) {
      b.setCurrentKey(key);
      s.set(`${key}0`);
    }
    await b.snapshot(1);
    b.setCurrentKey('b');
    for (let i = 1; i <= 1000; i++) s.set(`b${i}`);
    s.clear();
    b.setCurrentKey('c');
    s.clear();
    s.set('c-again');
    b.setCurrentKey('d');
    s.set('d0');
    s.clear();
    b.afterBatch();
    const { chain } = await b.snapshot(2);
    const r = await restoredFrom(factory, chain);
    assert.deepEqual(valuesOf(r, 'v'), new Map([['a', 'a0'], ['c', 'c-again']]));
    await Promise.all([b.close(), r.close()]);
  });

  test(`${kind}: keys that do not repeat go straight to the log; when keys start repeating, writes are coalesced again within a few segments`, async () => {
    const factory = new BackendFactory();
    const segmentBytes = 64 * 1024;
    const { backend: b, logBytes } = await observedBackend(factory, kind, segmentBytes);
    /** Internal: whether value writes go straight to the changelog (not part of the backend's interface). */
    const writingThrough = () => (b as unknown as { changelog: StateChangelog }).changelog.valueWrites.writingThrough;
    const s = b.valueState<number>({ name: 'n' });
    const expected = new Map<string, number>();
    const batch = async (keyOf: (i: number) => string, value: number) => {
      for (let i = 0; i < 1000; i++) {
        const key = keyOf(i);
        b.setCurrentKey(key);
        s.set(value);
        expected.set(key, value);
      }
      b.afterBatch();
      await new Promise((resolve) => setImmediate(resolve));
    };

    // Deduplication-like: 200,000 keys, each written once; a few of each batch cleared in the next.
    for (let n = 0; n < 200; n++) {
      for (let i = 0; n > 0 && i < 10; i++) {
        const key = `order-${(n - 1) * 1000 + i}`;
        b.setCurrentKey(key);
        s.clear();
        expected.delete(key);
      }
      await batch((i) => `order-${n * 1000 + i}`, n);
    }
    assert.ok(writingThrough(), 'after a window of keys written once each, writes go straight to the log');
    await b.snapshot(1);

    // Counter-like: 100 keys written 3,000 times each.
    logBytes.length = 0;
    for (let n = 0; n < 300; n++) await batch((i) => `user-${i % 100}`, n);
    assert.ok(!writingThrough(), 'repeating keys are coalesced again');
    await b.snapshot(2);
    const hotBytes = logBytes.reduce((n, bytes) => n + bytes, 0);
    // Straight to the log they would take ~4.5 MB: only the segments before the next look at the workload are.
    assert.ok(hotBytes < 16 * segmentBytes, `300,000 writes of 100 keys made ${hotBytes} bytes of changelog`);

    const { chain } = await b.snapshot(3);
    const restored = await restoredFrom(factory, chain);
    assert.deepEqual(valuesOf(restored, 'n'), expected);
    await Promise.all([b.close(), restored.close()]);
  });
}

test('many distinct keys still leave in segments before the barrier, so a checkpoint only waits for its tail', async () => {
  const factory = new BackendFactory();
  const { backend: b, logBytes } = await observedBackend(factory, 'heap');
  const s = b.valueState<number>({ name: 'n' });
  const segmentBytes = 4 * 1024 * 1024;
  // ~20 bytes a record: 1 M distinct keys make several segments of changelog.
  for (let batch = 0; batch < 1000; batch++) {
    for (let i = 0; i < 1000; i++) {
      b.setCurrentKey(`order-${batch * 1000 + i}`);
      s.set(i);
    }
    b.afterBatch();
    // As the task loop does between batches: the background writes start.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const written = logBytes.length;
  assert.ok(written >= 3, `segments were handed over while the keys were written (${written})`);
  await b.snapshot(1);
  const tail = logBytes.at(-1)!;
  assert.ok(tail <= segmentBytes + 16_384 * 40, `the barrier hands over at most about a segment (${tail} bytes)`);
});
