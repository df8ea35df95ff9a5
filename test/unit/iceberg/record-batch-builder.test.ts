import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordBatchBuilder } from '../../../src/iceberg/record-batch-builder.js';
import type { Schema } from '../../../src/iceberg/schema.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'amount', required: true, type: 'decimal(12, 2)' },
    { id: 4, name: 'score', required: false, type: 'double' },
    {
      id: 5,
      name: 'address',
      required: false,
      type: { type: 'struct', fields: [{ id: 6, name: 'zip', required: true, type: 'int' }] },
    },
    { id: 7, name: 'tags', required: false, type: { type: 'list', 'element-id': 8, element: 'string', 'element-required': true } },
  ],
};

test('a row that does not fit is rejected with a reason and leaves no trace', () => {
  const b = new RecordBatchBuilder(schema);
  const rows: unknown[] = [
    { id: 1, name: 'a', amount: '1.50', score: 1.5, address: { zip: 1000 }, tags: ['x', 'y'] },
    { id: 2, name: 'b', amount: '1.505' }, // too many fraction digits
    { id: 3, name: 'c', amount: '2.00', address: { zip: 'nope' } }, // nested failure after earlier columns were written
    { id: 4, name: 'd', amount: '3', tags: ['ok', null] }, // required list element is null
    { name: 'e', amount: '1' }, // required id missing
    'not an object',
    { id: 5, name: null, amount: 4.1, score: NaN, address: null, tags: [] },
  ];
  const rejected = b.appendRows(rows);
  assert.deepEqual(rejected.map((r) => r.index), [1, 2, 3, 4, 5]);
  assert.match(rejected[0]!.reason, /^amount: .*fraction digits/);
  assert.match(rejected[1]!.reason, /^address\.zip: expected int/);
  assert.match(rejected[2]!.reason, /^tags\[\]: required field is missing/);
  assert.match(rejected[3]!.reason, /^id: required field is missing/);
  assert.equal(b.length, 2);
  const { batch, nanValueCounts } = b.finish();
  assert.equal(batch.numRows, 2);
  const rowsOut = batch.toArray().map((r) => r.toJSON());
  assert.equal(rowsOut[0]!.id, 1n);
  assert.equal(rowsOut[1]!.id, 5n);
  assert.equal(rowsOut[1]!.name, null);
  assert.equal(batch.getChild('name')!.nullCount, 1);
  assert.deepEqual([...batch.getChild('tags')!.get(0)!], ['x', 'y']);
  assert.equal(batch.getChild('tags')!.get(1)!.length, 0);
  // The struct column kept exactly one child value per row despite the rejected nested row.
  assert.equal(batch.getChild('address')!.data[0]!.children[0]!.length, 2);
  assert.equal(batch.getChild('address')!.get(0)!.toJSON().zip, 1000);
  assert.equal(batch.getChild('address')!.nullCount, 1);
  assert.equal(nanValueCounts.get(4), 1);
  const amount = batch.getChild('amount')!.data[0]!.values as Uint32Array;
  assert.equal(amount[0], 150);
  assert.equal(amount[4], 410);
  assert.equal(b.length, 0);
});

test('strings with non-ASCII characters get byte offsets', () => {
  const b = new RecordBatchBuilder({ fields: [{ id: 1, name: 's', required: true, type: 'string' }] });
  b.appendRows([{ s: 'héllo' }, { s: '' }, { s: '日本' }, { s: 'x' }]);
  const { batch } = b.finish();
  assert.deepEqual(batch.toArray().map((r) => r.toJSON().s), ['héllo', '', '日本', 'x']);
});

test('large longs and timestamps keep full precision', () => {
  const b = new RecordBatchBuilder({
    fields: [
      { id: 1, name: 'l', required: true, type: 'long' },
      { id: 2, name: 't', required: true, type: 'timestamptz' },
    ],
  });
  const rejected = b.appendRows([
    { l: -(2n ** 63n), t: '2024-01-05T10:00:00.123456Z' },
    { l: 2n ** 63n - 1n, t: 1704448800123 },
    { l: -5, t: new Date(-1) },
    { l: 2n ** 63n, t: 0 },
  ]);
  assert.equal(rejected.length, 1);
  const { batch } = b.finish();
  const l = batch.getChild('l')!.data[0]!.values as BigInt64Array;
  const t = batch.getChild('t')!.data[0]!.values as BigInt64Array;
  assert.deepEqual([...l], [-(2n ** 63n), 2n ** 63n - 1n, -5n]);
  assert.deepEqual([...t], [1704448800123456n, 1704448800123000n, -1000n]);
});

test('the hand-written ISO timestamp parser agrees with Date.parse', async () => {
  const { toEpochMicros } = await import('../../../src/iceberg/row-value-coercion.js');
  let seed = 7;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let k = 0; k < 2000; k++) {
    const ms = (rnd(2 ** 31) - 2 ** 30) * 1000 + rnd(1000) + rnd(100) * 86_400_000 * 30;
    const iso = new Date(ms).toISOString(); // e.g. 2001-02-03T04:05:06.789Z
    const micros = rnd(1000);
    const offsetH = rnd(24) - 12;
    const zone = k % 3 === 0 ? 'Z' : `${offsetH < 0 ? '-' : '+'}${String(Math.abs(offsetH)).padStart(2, '0')}:30`;
    const text = `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}${zone}`;
    if (!/^\d{4}-/.test(iso)) continue; // years outside 0000-9999 use the general path
    const expected = BigInt(Date.parse(text)) * 1000n + BigInt(micros);
    assert.equal(BigInt(toEpochMicros(text)), expected, text);
  }
  assert.equal(toEpochMicros('2024-01-05 10:00:00'), 1704448800000000);
  assert.equal(toEpochMicros('2024-02-29T00:00:00Z'), 1709164800000000);
  assert.throws(() => toEpochMicros('2023-02-29T00:00:00Z'));
  assert.equal(toEpochMicros('1969-12-31T23:59:59.9999995Z'), -1);
});
