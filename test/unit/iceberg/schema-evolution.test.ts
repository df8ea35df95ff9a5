import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncompatibleSchemaError } from '../../../src/errors.js';
import { planSchemaEvolution } from '../../../src/iceberg/schema-evolution.js';
import { optional, required, tableSchema } from '../../../src/iceberg/schema-builder.js';
import type { Schema } from '../../../src/iceberg/schema.js';
import { updateTableSchema } from '../../../src/iceberg/update-table-schema.js';
import { lastColumnId } from '../../../src/iceberg/table-metadata.js';
import { MemoryCatalog } from './support/memory-catalog.js';

const V1 = tableSchema({
  order_id: required('string'),
  item_count: required('int'),
  weight: optional('float'),
  total: required('decimal(12, 2)'),
  address: optional({ type: 'struct', fields: [{ id: 100, name: 'city', required: false, type: 'string' }] }),
});

function plan(table: Schema, job: Schema) {
  return planSchemaEvolution(table, job, lastColumnId(table), table['schema-id'] + 1);
}

function refused(fn: () => unknown, column: string, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof IncompatibleSchemaError, String(error));
    assert.equal(error.column, column);
    assert.match(error.message, message);
    return true;
  });
}

test('the same schema changes nothing', () => {
  const evolution = plan(V1, V1);
  assert.equal(evolution.schema, undefined);
  assert.deepEqual(evolution.changes, []);
});

test('an added optional column gets the next field id above last-column-id, nested ids included', () => {
  const job = tableSchema({
    ...{ order_id: required('string'), item_count: required('int'), weight: optional('float'), total: required('decimal(12, 2)') },
    address: optional({ type: 'struct', fields: [{ id: 100, name: 'city', required: false, type: 'string' }] }),
    tags: optional({ type: 'list', 'element-id': 7, element: 'string', 'element-required': false }),
    discount: optional('decimal(12, 2)'),
  });
  const evolution = plan(V1, job);
  assert.ok(evolution.schema);
  assert.equal(evolution.schema['schema-id'], 1);
  // V1's highest id is the nested 100: new ids start above it, never reusing 6 or 7.
  const tags = evolution.schema.fields.find((f) => f.name === 'tags')!;
  assert.equal(tags.id, 101);
  assert.deepEqual(tags.type, { type: 'list', 'element-id': 102, element: 'string', 'element-required': false });
  assert.equal(evolution.schema.fields.find((f) => f.name === 'discount')!.id, 103);
  assert.equal(evolution.lastColumnId, 103);
  // The table's columns keep their ids and order; new ones come last.
  assert.deepEqual(evolution.schema.fields.map((f) => [f.name, f.id]), [['order_id', 1], ['item_count', 2], ['weight', 3], ['total', 4], ['address', 5], ['tags', 101], ['discount', 103]]);
  assert.deepEqual(evolution.changes, ['add column tags list<string> (id 101)', 'add column discount decimal(12, 2) (id 103)']);
});

test('int → long, float → double and decimal precision widening are promotions; required → optional relaxes', () => {
  const job = tableSchema({
    order_id: required('string'),
    item_count: optional('long'),
    weight: optional('double'),
    total: required('decimal(18, 2)'),
    address: optional({ type: 'struct', fields: [{ id: 100, name: 'city', required: false, type: 'string' }, { id: 9, name: 'zip', required: false, type: 'string' }] }),
  });
  const evolution = plan(V1, job);
  const byName = new Map(evolution.schema!.fields.map((f) => [f.name, f]));
  assert.deepEqual([byName.get('item_count')!.type, byName.get('item_count')!.required], ['long', false]);
  assert.equal(byName.get('weight')!.type, 'double');
  assert.equal(byName.get('total')!.type, 'decimal(18, 2)');
  assert.equal(byName.get('item_count')!.id, 2);
  const address = byName.get('address')!.type;
  assert.ok(typeof address !== 'string' && address.type === 'struct');
  assert.deepEqual(address.fields.map((f) => [f.name, f.id]), [['city', 100], ['zip', 101]]);
  assert.deepEqual(evolution.changes, ['make item_count optional', 'promote item_count int → long', 'promote weight float → double', 'promote total decimal(12, 2) → decimal(18, 2)', 'add column address.zip string (id 101)']);
});

test('an optional table column the job no longer declares stays (written as null); a required one is refused', () => {
  const withoutWeight = tableSchema({ order_id: required('string'), item_count: required('int') });
  // Field ids of the job differ (positional), but columns match by name.
  const table = tableSchema({ order_id: required('string'), item_count: required('int'), weight: optional('float') });
  const evolution = plan(table, withoutWeight);
  assert.equal(evolution.schema, undefined);
  assert.deepEqual(evolution.notInJob, ['weight']);
  refused(() => plan(V1, tableSchema({ order_id: required('string'), item_count: required('int') })), 'total', /required in the table but the job no longer declares it/);
});

test('a rename is refused, naming the column and how to rename it in the table', () => {
  const renamed = tableSchema({ order_id: required('string'), quantity: required('int'), weight: optional('float'), total: required('decimal(12, 2)'), address: V1.fields[4]!.required ? required(V1.fields[4]!.type) : optional(V1.fields[4]!.type) });
  refused(() => plan(V1, renamed), 'item_count', /'item_count' \(field id 2\) looks renamed to 'quantity'.*rename_column\('item_count', 'quantity'\)/s);
});

test('incompatible changes are refused with what Iceberg allows', () => {
  const base = { order_id: required('string'), weight: optional('float'), total: required('decimal(12, 2)'), address: optional(V1.fields[4]!.type) };
  refused(() => plan(V1, tableSchema({ ...base, item_count: required('string') })), 'item_count', /int in the table but string in the job.*int → long/);
  refused(() => plan(V1, tableSchema({ ...base, item_count: required('int'), total: required('decimal(12, 3)') })), 'total', /decimal\(12, 2\) in the table but decimal\(12, 3\)/);
  refused(() => plan(tableSchema({ n: required('long') }), tableSchema({ n: required('int') })), 'n', /narrower int/);
  refused(() => plan(V1, tableSchema({ ...base, item_count: required('int'), discount: required('decimal(12, 2)') })), 'discount', /new and declared required.*optional\(\.\.\.\)/);
  refused(() => plan(V1, tableSchema({ order_id: required('string'), item_count: required('int'), weight: required('float'), total: required('decimal(12, 2)') })), 'weight', /optional in the table but required in the job/);
});

test('updateTableSchema commits a new current schema once, also when a concurrent writer evolved the table first', async () => {
  const catalog = new MemoryCatalog();
  const id = { namespace: 'sink', name: 'orders' };
  const created = await catalog.ensureTable(id, { schema: V1 });
  const V2 = tableSchema({ order_id: required('string'), item_count: required('long'), weight: optional('float'), total: required('decimal(12, 2)'), address: optional(V1.fields[4]!.type), note: optional('string') });
  // Another instance evolves the same way between our load and our commit.
  catalog.beforeSwap = async () => {
    await updateTableSchema(catalog, id, V2);
  };
  const result = await updateTableSchema(catalog, id, V2, { base: created });
  const loaded = await catalog.loadTable(id);
  assert.equal(loaded.metadata.schemas.length, 2, 'one schema change, not two');
  assert.equal(loaded.metadata['current-schema-id'], 1);
  assert.equal(loaded.metadata['last-column-id'], 101);
  assert.deepEqual(result.changes, [], 'the other writer made the change');
  assert.equal(result.table.metadata['current-schema-id'], 1);
  const again = await updateTableSchema(catalog, id, V2);
  assert.deepEqual(again.changes, []);
  assert.equal((await catalog.loadTable(id)).metadata.schemas.length, 2);
});
