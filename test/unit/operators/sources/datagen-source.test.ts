import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datagenSource, type DatagenOptions, type DatagenPosition } from '../../../../src/operators/sources/datagen-source.js';
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

test('bounded: exactly count records, then end', async () => {
  const { records, ended, batches } = await drain({ generate, count: 1000, batchSize: 128, seed: 3 });
  assert.equal(records.length, 1000);
  assert.ok(ended);
  assert.deepEqual(records.map((r) => r.id), Array.from({ length: 1000 }, (_, i) => i));
  assert.ok(batches.every((b) => b.records.length <= 128));
});

test('record i depends only on (seed, i): batch size does not matter, seed does', async () => {
  const a = await drain({ generate, count: 500, batchSize: 7, seed: 11 });
  const b = await drain({ generate, count: 500, batchSize: 500, seed: 11 });
  const c = await drain({ generate, count: 500, seed: 12 });
  assert.deepEqual(a.records, b.records);
  assert.notDeepEqual(a.records.map((r) => r.v), c.records.map((r) => r.v));
  assert.equal(new Set(a.records.map((r) => r.v)).size, 500, 'records get distinct random streams');
});

test('restoring from any position continues with the identical records', async () => {
  const all = (await drain({ generate, count: 300, batchSize: 16, seed: 5 })).records;
  for (const polls of [1, 3, 10]) {
    const first = await drain({ generate, count: 300, batchSize: 16, seed: 5 }, undefined, polls);
    assert.equal(first.position.nextIndex, polls * 16);
    const rest = await drain({ generate, count: 300, batchSize: 50, seed: 5 }, first.position);
    assert.deepEqual([...first.records, ...rest.records], all);
  }
});

test('unbounded when count is absent', async () => {
  const { records, ended } = await drain({ generate: (i) => i, batchSize: 100 }, { nextIndex: 2 ** 40 }, 5);
  assert.equal(records.length, 500);
  assert.equal(records[0], 2 ** 40);
  assert.equal(ended, false);
});

test('watermarks trail the max event time by the out-of-orderness bound', async () => {
  const { batches } = await drain({ generate, count: 100, batchSize: 10, eventTime: (e) => e.ts, maxOutOfOrdernessMs: 2000 });
  let max = -Infinity;
  let last = -Infinity;
  for (const b of batches) {
    for (const r of b.records) max = Math.max(max, r.ts);
    assert.equal(b.watermark, max - 2000 - 1);
    assert.ok(b.watermark! >= last);
    last = b.watermark!;
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
