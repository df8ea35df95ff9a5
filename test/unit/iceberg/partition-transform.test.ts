import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTransform, UnsupportedTransformError } from '../../../src/iceberg/partition-transform.js';
import { PartitionKeyer } from '../../../src/iceberg/partition-keyer.js';
import { minimalBytesToBigInt } from '../../../src/iceberg/single-value.js';
import type { Schema } from '../../../src/iceberg/schema.js';

test('bucket[N] follows the spec: (hash & MAX_INT) % N', () => {
  assert.equal(compileTransform('bucket[16]', 'int').apply(34), 2017239379 % 16);
  assert.equal(compileTransform('bucket[100]', 'int').apply(34), 79);
  assert.equal(compileTransform('bucket[100]', 'long').apply(34n), 79);
  assert.equal(compileTransform('bucket[16]', 'string').apply('iceberg'), 1210000089 % 16);
  // -188683207 is negative: the sign bit is masked off before the modulo.
  assert.equal(compileTransform('bucket[7]', 'binary').apply(Uint8Array.of(0, 1, 2, 3)), (-188683207 & 0x7fffffff) % 7);
  assert.equal(compileTransform('bucket[16]', 'int').apply(null), null);
});

test('truncate[W] follows the spec examples', () => {
  const t10 = compileTransform('truncate[10]', 'int');
  assert.equal(t10.apply(1), 0);
  assert.equal(t10.apply(-1), -10);
  assert.equal(compileTransform('truncate[10]', 'long').apply(-1), -10n);
  const dec = compileTransform('truncate[50]', 'decimal(9, 2)');
  assert.equal(minimalBytesToBigInt(dec.apply('10.65') as Uint8Array), 1050n);
  assert.equal(dec.human(dec.apply('10.65')), '10.50');
  assert.equal(compileTransform('truncate[3]', 'string').apply('iceberg'), 'ice');
  assert.equal(compileTransform('truncate[2]', 'string').apply('😀😃x'), '😀😃');
  assert.deepEqual(compileTransform('truncate[2]', 'binary').apply(Uint8Array.of(1, 2, 3)), Uint8Array.of(1, 2));
});

test('year/month/day/hour give ordinals since the epoch, with floor semantics before 1970', () => {
  const day = compileTransform('day', 'timestamptz');
  assert.equal(day.apply('2024-01-05T10:00:00Z'), 19727);
  assert.equal(day.human(19727), '2024-01-05');
  assert.equal(day.apply('1969-12-31T23:59:59.999999Z'), -1);
  assert.equal(day.apply(-1n), -1);
  assert.equal(compileTransform('day', 'date').apply('2017-11-16'), 17486);
  const month = compileTransform('month', 'timestamp');
  assert.equal(month.apply('2024-01-05T10:00:00'), (2024 - 1970) * 12);
  assert.equal(month.human((2024 - 1970) * 12 + 2), '2024-03');
  assert.equal(month.apply('1969-12-15T00:00:00'), -1);
  const year = compileTransform('year', 'date');
  assert.equal(year.apply('2017-11-16'), 47);
  assert.equal(year.human(47), '2017');
  const hour = compileTransform('hour', 'timestamptz');
  const h = hour.apply(new Date('2024-01-05T10:30:00Z'));
  assert.equal(h, 19727 * 24 + 10);
  assert.equal(hour.human(h), '2024-01-05-10');
  assert.equal(hour.apply('1969-12-31T23:59:59Z'), -1);
});

test('identity and void; invalid combinations are refused', () => {
  assert.equal(compileTransform('identity', 'long').apply(5), 5n);
  assert.equal(compileTransform('identity', 'timestamptz').human(1_510_871_468_000_001n), '2017-11-16T22:31:08.000001+00:00');
  assert.equal(compileTransform('void', 'string').apply('x'), null);
  assert.throws(() => compileTransform('hour', 'date'), UnsupportedTransformError);
  assert.throws(() => compileTransform('bucket[0]', 'int'), UnsupportedTransformError);
  assert.throws(() => compileTransform('truncate[4]', 'timestamp'), UnsupportedTransformError);
});

test('PartitionKeyer groups rows and renders the partition path', () => {
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'created_at', required: true, type: 'timestamptz' },
      { id: 3, name: 'region', required: false, type: 'string' },
    ],
  };
  const keyer = new PartitionKeyer(
    {
      'spec-id': 1,
      fields: [
        { 'source-id': 2, 'field-id': 1000, name: 'created_at_day', transform: 'day' },
        { 'source-id': 3, 'field-id': 1001, name: 'region', transform: 'identity' },
      ],
    },
    schema,
  );
  const a = keyer.partitionOf({ id: 1, created_at: '2024-01-05T01:00:00Z', region: 'eu west' });
  const b = keyer.partitionOf({ id: 2, created_at: '2024-01-05T23:00:00Z', region: 'eu west' });
  const c = keyer.partitionOf({ id: 3, created_at: '2024-01-06T00:00:00Z', region: null });
  assert.equal(a.key, b.key);
  assert.notEqual(a.key, c.key);
  assert.equal(keyer.path(a.values), 'created_at_day=2024-01-05/region=eu%20west');
  assert.equal(keyer.path(c.values), 'created_at_day=2024-01-06/region=null');
  assert.deepEqual(keyer.toRecord(a.values), { created_at_day: 19727, region: 'eu west' });
});

test('keyOf agrees with partitionOf', () => {
  const keyer = new PartitionKeyer(
    {
      'spec-id': 0,
      fields: [
        { 'source-id': 1, 'field-id': 1000, name: 'b', transform: 'bucket[4]' },
        { 'source-id': 2, 'field-id': 1001, name: 'h', transform: 'hour' },
      ],
    },
    { fields: [{ id: 1, name: 'id', required: true, type: 'string' }, { id: 2, name: 'ts', required: false, type: 'timestamp' }] },
  );
  for (const row of [{ id: 'a', ts: '2024-01-01T05:00:00' }, { id: 'b', ts: null }, { id: 'c', ts: 0 }]) {
    assert.equal(keyer.keyOf(row), keyer.partitionOf(row).key);
  }
});
