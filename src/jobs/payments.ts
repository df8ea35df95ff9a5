/**
 * payments: payment attempts from the payment service → Iceberg table `sink.payments`, one row
 * per attempt. Validates amount (> 0, fits decimal(12, 2)) and currency, normalizes the status,
 * keys by order and flags orders with more than 3 failed payments in a tumbling 10-minute
 * event-time window (`suspicious`, see transforms/failed-payment-bursts.ts for why it is a
 * keyed process function). Invalid payments are dead letters.
 */
import { z } from 'zod';
import { defineJob, icebergTableOutput, optional, partitionBy, required, tableSchema } from '../index.js';
import { samplePayment } from './samples/payments-sample.js';
import { flagFailedPaymentBursts, type BurstFlag } from './transforms/failed-payment-bursts.js';
import { centsToDecimal, normalizeCurrency } from './transforms/money.js';
import { normalizePaymentStatus } from './transforms/payment-status.js';
import { positiveAmount } from './transforms/positive-amount.js';

/** More failed payments than this per order and window make the order suspicious. */
export const MAX_FAILURES_PER_WINDOW = 3;
export const SUSPICION_WINDOW_MS = 10 * 60_000;

/** The JSON the payment service publishes; `amount` parses to cents. */
export const PaymentEvent = z.object({
  payment_id: z.string().min(1),
  order_id: z.string().min(1),
  amount: positiveAmount,
  currency: z.string().transform((c, ctx) => normalizeCurrency(c) ?? (ctx.addIssue({ code: 'custom', message: `unknown currency '${c}'` }), z.NEVER)),
  status: z.string().transform((s, ctx) => normalizePaymentStatus(s) ?? (ctx.addIssue({ code: 'custom', message: `unknown status '${s}'` }), z.NEVER)),
  method: z.string().min(1).optional(),
  failure_reason: z.string().optional(),
  attempted_at: z.iso.datetime({ offset: true }),
});
export type PaymentEvent = z.infer<typeof PaymentEvent>;

export const paymentsTable = tableSchema({
  payment_id: required('string'),
  order_id: required('string'),
  amount: required('decimal(12, 2)'),
  currency: required('string'),
  status: required('string', 'SUCCEEDED, FAILED, PENDING or REFUNDED'),
  method: optional('string'),
  failure_reason: optional('string'),
  attempted_at: required('timestamptz'),
  window_failures: required('int', "failed payments of this order in this row's 10-minute window so far"),
  suspicious: required('boolean', `more than ${MAX_FAILURES_PER_WINDOW} failed payments of this order in the window`),
});

/** One table row per payment attempt. */
export function toPaymentRow(p: PaymentEvent & BurstFlag) {
  return {
    payment_id: p.payment_id,
    order_id: p.order_id,
    amount: centsToDecimal(p.amount),
    currency: p.currency,
    status: p.status,
    method: p.method ?? null,
    failure_reason: p.failure_reason ?? null,
    attempted_at: p.attempted_at,
    window_failures: p.window_failures,
    suspicious: p.suspicious,
  };
}

/** The failure-burst detector as the job configures it. */
export const flagSuspiciousOrders = () =>
  flagFailedPaymentBursts<PaymentEvent>({
    windowMs: SUSPICION_WINDOW_MS,
    maxFailures: MAX_FAILURES_PER_WINDOW,
    eventTime: (p) => Date.parse(p.attempted_at),
    failed: (p) => p.status === 'FAILED',
  });

export default defineJob({
  name: 'payments',
  checkpoint: { intervalMs: 10_000, retain: 3 },
  input: {
    topic: 'payments',
    schema: PaymentEvent,
    generate: samplePayment,
    key: (p) => p.order_id,
    eventTime: (p) => Date.parse(p.attempted_at),
    maxOutOfOrdernessMs: 5_000,
  },
  build: (payments, env) =>
    payments
      .keyBy((p) => p.order_id, { sourcePartitioned: true })
      .apply('suspicious', flagSuspiciousOrders)
      .map('to-row', toPaymentRow)
      .sink('table', icebergTableOutput(env, { name: 'payments', schema: paymentsTable, partitionSpec: partitionBy(paymentsTable, [{ column: 'attempted_at', transform: 'day' }]) })),
});
