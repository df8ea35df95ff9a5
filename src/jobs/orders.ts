/**
 * orders: shop orders from Kafka → Iceberg table `sink.orders`, one row per order.
 * Computes the total from the line items in exact cents, normalizes currency and status, and
 * drops redelivered order ids (keyed state with a 24 h TTL). Invalid orders are dead letters.
 */
import { z } from 'zod';
import { dedupOperator, defineJob, icebergTableOutput, partitionBy, required, tableSchema } from '../index.js';
import { sampleOrder } from './samples/orders-sample.js';
import { centsToDecimal, normalizeCurrency, toCents } from './transforms/money.js';

const amount = z.union([z.string().regex(/^\d+(\.\d{1,2})?$/), z.number().nonnegative()]);

/** The JSON the order service publishes. */
const OrderEvent = z.object({
  order_id: z.string().min(1),
  customer_id: z.string().min(1),
  status: z.string().transform((s, ctx) => normalizeStatus(s) ?? (ctx.addIssue({ code: 'custom', message: `unknown status '${s}'` }), z.NEVER)),
  currency: z.string().transform((c, ctx) => normalizeCurrency(c) ?? (ctx.addIssue({ code: 'custom', message: `unknown currency '${c}'` }), z.NEVER)),
  items: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive(), unit_price: amount })).min(1),
  shipping: amount.optional(),
  created_at: z.iso.datetime({ offset: true }),
});
type OrderEvent = z.infer<typeof OrderEvent>;

const STATUS = { created: 'CREATED', paid: 'PAID', shipped: 'SHIPPED', delivered: 'DELIVERED', cancelled: 'CANCELLED', canceled: 'CANCELLED' } as const;
function normalizeStatus(raw: string): (typeof STATUS)[keyof typeof STATUS] | undefined {
  return STATUS[raw.trim().toLowerCase() as keyof typeof STATUS];
}

export const ordersTable = tableSchema({
  order_id: required('string'),
  customer_id: required('string'),
  status: required('string'),
  currency: required('string'),
  item_count: required('int'),
  total_amount: required('decimal(12, 2)'),
  created_at: required('timestamptz'),
});

function toRow(o: OrderEvent) {
  const cents = o.items.reduce((sum, item) => sum + item.quantity * toCents(item.unit_price), 0) + toCents(o.shipping ?? 0);
  return {
    order_id: o.order_id,
    customer_id: o.customer_id,
    status: o.status,
    currency: o.currency,
    item_count: o.items.reduce((n, item) => n + item.quantity, 0),
    total_amount: centsToDecimal(cents),
    created_at: o.created_at,
  };
}

export default defineJob({
  name: 'orders',
  checkpoint: { intervalMs: 10_000, retain: 3 },
  input: {
    topic: 'orders',
    schema: OrderEvent,
    generate: sampleOrder,
    key: (o) => o.order_id,
    eventTime: (o) => Date.parse(o.created_at),
    maxOutOfOrdernessMs: 5_000,
  },
  build: (orders, env) =>
    orders
      .keyBy((o) => o.order_id, { sourcePartitioned: true })
      .apply('dedup', () => dedupOperator<OrderEvent>({ ttlMs: 24 * 3600_000 }))
      .map('to-row', toRow)
      .sink('table', icebergTableOutput(env, { name: 'orders', schema: ordersTable, partitionSpec: partitionBy(ordersTable, [{ column: 'created_at', transform: 'day' }]) })),
});
