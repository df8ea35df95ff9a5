/** Orders-like rows and their Iceberg schema, shared by the Iceberg sink benchmarks. */
import type { Schema } from '../src/iceberg/schema.js';

export const ordersSchema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'order_id', required: true, type: 'string' },
    { id: 2, name: 'customer_id', required: true, type: 'string' },
    { id: 3, name: 'amount', required: true, type: 'decimal(12, 2)' },
    { id: 4, name: 'currency', required: true, type: 'string' },
    { id: 5, name: 'status', required: true, type: 'string' },
    { id: 6, name: 'created_at', required: true, type: 'timestamptz' },
    { id: 7, name: 'item_count', required: true, type: 'int' },
  ],
};

/** Rows as JSON.parse yields them (timestamp an ISO string, amount a number), deterministic. */
export function ordersRows(n: number): Record<string, unknown>[] {
  const currencies = ['EUR', 'USD', 'GBP', 'JPY'];
  const statuses = ['created', 'paid', 'shipped', 'delivered', 'cancelled'];
  const start = Date.UTC(2024, 0, 5);
  let seed = 42;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  return Array.from({ length: n }, (_, i) => ({
    order_id: `ord-${(1_000_000 + i).toString(36)}-${Math.floor(rnd() * 1e6)}`,
    customer_id: `cust-${Math.floor(rnd() * 50_000)}`,
    amount: Math.round(rnd() * 100_000) / 100,
    currency: currencies[i & 3],
    status: statuses[Math.floor(rnd() * 5)],
    created_at: new Date(start + i * 250).toISOString(),
    item_count: 1 + Math.floor(rnd() * 9),
  }));
}
