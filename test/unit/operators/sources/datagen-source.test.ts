import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datagenSource, GENERATOR_SPLITS, type DatagenOptions, type DatagenPosition } from '../../../../src/operators/sources/datagen-source.js';
import type { SourceBatch } from '../../../../src/runtime/source.js';
import { testSourceContext } from '../operator-harness.js';

interface Ev {
  id: number;
  v: number;
  w: number;
  ts: number;
}
const generate = (i: number, r: () => number): Ev => ({ id: i, v: r(), w: Math.floor(r() * 1000), ts: 1_000 * i + Math.floor(r() * 500) });

async function drain<T>(options: DatagenOptions<T>, restored?: DatagenPosition, maxPolls = Infinity): Promise<{ records: T[]; batches: SourceBatch<T>[]; position: DatagenPosition; ended: boolean }> {
  const source = datagenSource(options);
  const reader = source.createReader();
  await reader.open(testSourceContext(), restored);
  const batches: SourceBatch<T>[] = [];
  let ended = false;
  for (let i = 0; i < maxPolls; i++) {
    const b = await reader.poll();
    if (b === 'end') {
      ended = true;
      break;
    }
    if (b === 'idle') continue;
    batches.push(b);
  }
  const position = source.positionSerializer.deserialize(source.positionSerializer.version, source.positionSerializer.serialize(reader.snapshot(1)));
  await reader.close();
  return { records: batches.flatMap((b) => b.records), batches, position, ended };
}

const sorted = <T extends { id: number }>(records: T[]) => [...records].sort((a, b) => a.id - b.id);

test('bounded: exactly count records, then end; each batch from one split (index mod 16)', async () => {
  const { records, ended, batches } = await drain({ generate, count: 1000, batchSize: 8, seed: 3 });
  assert.equal(records.length, 1000);
  assert.ok(ended);
  assert.deepEqual(records.map((r) => r.id).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.ok(batches.every((b) => b.records.length <= 8));
  for (const b of batches) assert.ok(b.records.every((r) => `gen:${r.id % GENERATOR_SPLITS}` === b.split), `batch of ${b.split}`);
});

test('a reader assigned some splits generates exactly their records; readers of disjoint splits together make the whole input', async () => {
  const ctx = (splits: string[]) => ({ ...testSourceContext(), assignment: { generation: 1, splits } });
  const read = async (splits: string[]) => {
    const reader = datagenSource({ generate, count: 200, batchSize: 4 }).createReader();
    await reader.open(ctx(splits), undefined);
    const out: Ev[] = [];
    for (let b = await reader.poll(); b !== 'end'; b = await reader.poll()) if (b !== 'idle') out.push(...b.records);
    return out;
  };
  const even = await read(['gen:0', 'gen:2', 'gen:4', 'gen:6', 'gen:8', 'gen:10', 'gen:12', 'gen:14']);
  const odd = await read(['gen:1', 'gen:3', 'gen:5', 'gen:7', 'gen:9', 'gen:11', 'gen:13', 'gen:15']);
  assert.ok(even.every((r) => r.id % 2 === 0) && odd.every((r) => r.id % 2 === 1));
  assert.deepEqual(sorted([...even, ...odd]), (await drain({ generate, count: 200 })).records.sort((a, b) => a.id - b.id));
});

test('record i depends only on (seed, i): batch size does not matter, seed does', async () => {
  const a = await drain({ generate, count: 500, batchSize: 7, seed: 11 });
  const b = await drain({ generate, count: 500, batchSize: 500, seed: 11 });
  const c = await drain({ generate, count: 500, seed: 12 });
  assert.deepEqual(sorted(a.records), sorted(b.records));
  assert.notDeepEqual(a.records.map((r) => r.v), c.records.map((r) => r.v));
  assert.equal(new Set(a.records.map((r) => r.v)).size, 500, 'records get distinct random streams');
});

test('restoring from any position continues with the identical records', async () => {
  const all = sorted((await drain({ generate, count: 300, batchSize: 4, seed: 5 })).records);
  for (const polls of [1, 3, 10, 40]) {
    const first = await drain({ generate, count: 300, batchSize: 4, seed: 5 }, undefined, polls);
    assert.equal(Object.values(first.position.next).reduce((n, next, r) => n + Math.max(0, Math.ceil((next - r) / GENERATOR_SPLITS)), 0), polls * 4, 'positions count what was generated');
    const rest = await drain({ generate, count: 300, batchSize: 50, seed: 5 }, first.position);
    assert.deepEqual(sorted([...first.records, ...rest.records]), all);
  }
});

test('unbounded when count is absent', async () => {
  const start = Object.fromEntries(Array.from({ length: GENERATOR_SPLITS }, (_, r) => [`gen:${r}`, 2 ** 40 + r]));
  const { records, ended } = await drain({ generate: (i) => i, batchSize: 100 }, { next: start }, 5);
  assert.equal(records.length, 500);
  assert.equal(records[0], 2 ** 40);
  assert.equal(ended, false);
});

test('a position of the previous format (one sequence) continues every split where it left off', async () => {
  const source = datagenSource({ generate, count: 64 });
  const old = source.positionSerializer.deserialize(1, new TextEncoder().encode(JSON.stringify({ nextIndex: 40 })));
  const { records } = await drain({ generate, count: 64 }, old);
  assert.deepEqual(records.map((r) => r.id).sort((a, b) => a - b), Array.from({ length: 24 }, (_, i) => 40 + i));
});

test('watermarks trail the max event time by the out-of-orderness bound', async () => {
  const { batches } = await drain({ generate, count: 640, batchSize: 4, eventTime: (e) => e.ts, maxOutOfOrdernessMs: 2000 });
  const maxBySplit = new Map<string, number>();
  const done = new Set<string>();
  let last = -Infinity;
  for (const b of batches) {
    for (const r of b.records) maxBySplit.set(b.split!, Math.max(maxBySplit.get(b.split!) ?? -Infinity, r.ts));
    if (maxBySplit.size < GENERATOR_SPLITS) assert.equal(b.watermark, undefined, 'no watermark before every split was read');
    else {
      const live = [...maxBySplit].filter(([split]) => !done.has(split)).map(([, max]) => max);
      assert.equal(b.watermark, Math.min(...live) - 2000 - 1, 'the split furthest behind holds the watermark (exhausted ones no longer count)');
      assert.ok(b.watermark! >= last);
      last = b.watermark!;
    }
    if (b.records.some((r) => r.id >= 640 - GENERATOR_SPLITS)) done.add(b.split!);
  }
  const none = await drain({ generate, count: 10 });
  assert.equal(none.batches[0]!.watermark, undefined);
});

test('ratePerSecond throttles', async () => {
  const started = performance.now();
  const { records } = await drain({ generate: (i) => i, count: 100, ratePerSecond: 1000, batchSize: 1000 });
  const elapsed = performance.now() - started;
  assert.equal(records.length, 100);
  assert.ok(elapsed >= 80, `100 records at 1000/s took ${elapsed.toFixed(0)} ms`);
});

test('a rate-limited poll returns promptly when the job stops', async () => {
  const reader = datagenSource({ generate: (i) => i, ratePerSecond: 0.01 }).createReader();
  const ctx = testSourceContext();
  await reader.open(ctx, undefined);
  await reader.poll(); // consumes any initial allowance
  const started = performance.now();
  const pending = reader.poll();
  ctx.abort();
  assert.equal(await pending, 'idle');
  assert.ok(performance.now() - started < 200);
});

test('invalid options are rejected', () => {
  assert.throws(() => datagenSource({ generate, batchSize: 0 }), /batchSize/);
  assert.throws(() => datagenSource({ generate, count: -1 }), /count/);
  assert.throws(() => datagenSource({ generate, ratePerSecond: 0 }), /ratePerSecond/);
});
