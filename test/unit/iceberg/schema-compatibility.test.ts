import assert from 'node:assert/strict';
import { test } from 'node:test';
import { optional, required, tableSchema } from '../../../src/iceberg/schema-builder.js';
import { schemaIncompatibilities } from '../../../src/iceberg/schema-compatibility.js';

const orders = tableSchema({ order_id: required('string'), total: required('decimal(12, 2)'), items: required('int'), note: optional('string') });

test('the same schema, allowed promotions and optional table columns the job leaves out fit', () => {
  assert.deepEqual(schemaIncompatibilities(orders, orders), []);
  const table = tableSchema({ order_id: required('string'), total: required('decimal(14, 2)'), items: required('long'), note: optional('string'), extra: optional('double') });
  assert.deepEqual(schemaIncompatibilities(table, orders), []);
  // The job may write a column as required into an optional one.
  assert.deepEqual(schemaIncompatibilities(tableSchema({ order_id: optional('string') }), tableSchema({ order_id: required('string') })), []);
});

test('each column that does not fit is named with the reason', () => {
  const table = tableSchema({ order_id: required('long'), total: required('decimal(10, 2)'), items: required('int'), note: required('string'), region: required('string') });
  assert.deepEqual(schemaIncompatibilities(table, tableSchema({ ...Object.fromEntries(orders.fields.map((f) => [f.name, { type: f.type, required: f.required }])), coupon: optional('string') })), [
    "column 'order_id' is long in the table, the job writes string",
    "column 'total' is decimal(10, 2) in the table, the job writes decimal(12, 2)",
    "column 'note' is required in the table but optional in the job: rows without it would be refused",
    "column 'coupon' (string) is not in the table, so its values would not be stored",
    "required column 'region' of the table is not written by the job",
  ]);
});
