import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mixSeed, mulberry32 } from '../../../src/runtime/random.js';
import paymentsJob, { flagSuspiciousOrders, MAX_FAILURES_PER_WINDOW, PaymentEvent, paymentsTable, SUSPICION_WINDOW_MS, toPaymentRow } from '../../../src/jobs/payments.js';
import { samplePayment } from '../../../src/jobs/samples/payments-sample.js';
import { normalizePaymentStatus } from '../../../src/jobs/transforms/payment-status.js';
import type { BurstFlag } from '../../../src/jobs/transforms/failed-payment-bursts.js';
import { OperatorHarness } from '../operators/operator-harness.js';

const valid = {
  payment_id: 'p-1',
  order_id: 'o-1',
  amount: '12.30',
  currency: ' eur ',
  status: 'Declined',
  attempted_at: '2026-11-01T10:00:00Z',
};

test('amount: decimal strings and numbers become cents; zero, negative, >2 decimals and overflow are rejected', () => {
  assert.equal(PaymentEvent.parse({ ...valid, amount: '12.3' }).amount, 1230);
  assert.equal(PaymentEvent.parse({ ...valid, amount: 19.99 }).amount, 1999);
  assert.equal(PaymentEvent.parse({ ...valid, amount: '9999999999.99' }).amount, 999_999_999_999);
  for (const amount of ['0', 0, '0.00', '-5.00', -1, '1.234', 0.001, '10000000000.00', 1e12, '12,30', 'abc', null, true]) {
    const result = PaymentEvent.safeParse({ ...valid, amount });
    assert.equal(result.success, false, `amount ${JSON.stringify(amount)} must be rejected`);
  }
});

test('currency and status: normalized when known, schema violations otherwise', () => {
  const p = PaymentEvent.parse(valid);
  assert.equal(p.currency, 'EUR');
  assert.equal(p.status, 'FAILED');
  assert.equal(PaymentEvent.safeParse({ ...valid, currency: 'XYZ' }).success, false);
  assert.equal(PaymentEvent.safeParse({ ...valid, currency: 12345 }).success, false);
  assert.equal(PaymentEvent.safeParse({ ...valid, status: 'maybe' }).success, false);
  assert.equal(PaymentEvent.safeParse({ ...valid, attempted_at: 'now' }).success, false);
  assert.equal(PaymentEvent.safeParse({ ...valid, order_id: '' }).success, false);
  const statuses: [string, string | undefined][] = [
    ['succeeded', 'SUCCEEDED'], ['Paid', 'SUCCEEDED'], ['captured', 'SUCCEEDED'], ['ERROR', 'FAILED'], [' declined ', 'FAILED'],
    ['processing', 'PENDING'], ['requires-action', 'PENDING'], ['refund', 'REFUNDED'], ['chargeback', undefined],
  ];
  for (const [raw, expected] of statuses) assert.equal(normalizePaymentStatus(raw), expected, raw);
});

test('row: amount as decimal(12, 2) text, every column filled', () => {
  const row = toPaymentRow({ ...PaymentEvent.parse({ ...valid, amount: 7 }), window_failures: 1, suspicious: false });
  assert.equal(row.amount, '7.00');
  assert.equal(row.method, null);
  assert.deepEqual(Object.keys(row), paymentsTable.fields.map((f) => f.name));
});

function attempt(order: string, minute: number, status: string, n: number): PaymentEvent {
  return PaymentEvent.parse({ ...valid, payment_id: `p-${n}`, order_id: order, status, attempted_at: new Date(Date.UTC(2026, 10, 1, 10, minute)).toISOString() });
}

function detector() {
  return new OperatorHarness(flagSuspiciousOrders, { keySelector: (p: PaymentEvent) => p.order_id });
}

test('suspicious: the 4th failure of an order in a 10-minute window and what follows it in that window', () => {
  const h = detector();
  h.process(
    attempt('a', 0, 'failed', 1), attempt('a', 1, 'failed', 2), attempt('b', 1, 'failed', 3), attempt('a', 2, 'succeeded', 4),
    attempt('a', 3, 'failed', 5), attempt('a', 9, 'declined', 6), attempt('a', 9, 'succeeded', 7),
    attempt('a', 10, 'failed', 8), // next window: counting starts again
    attempt('b', 2, 'failed', 9), attempt('b', 3, 'failed', 10),
  );
  const flags = Object.fromEntries(h.out.records.map((r) => [r.payment_id, [r.window_failures, r.suspicious]]));
  assert.deepEqual(flags, {
    'p-1': [1, false], 'p-2': [2, false], 'p-3': [1, false], 'p-4': [2, false], 'p-5': [3, false],
    'p-6': [4, true], 'p-7': [4, true], 'p-8': [1, false], 'p-9': [2, false], 'p-10': [3, false],
  });
  assert.equal(h.deadLetters.letters.length, 0);
});

test('suspicious: windows are tumbling event-time windows, so out-of-order failures count in their own window', () => {
  const h = detector();
  h.process(attempt('a', 11, 'failed', 1), attempt('a', 12, 'failed', 2), attempt('a', 5, 'failed', 3), attempt('a', 13, 'failed', 4), attempt('a', 6, 'failed', 5), attempt('a', 19, 'failed', 6));
  assert.deepEqual(h.out.records.map((r) => r.window_failures), [1, 2, 1, 3, 2, 4]);
  assert.deepEqual(h.out.records.map((r) => r.suspicious), [false, false, false, false, false, true]);
});

test('suspicious: failure counts survive a restart from a snapshot and expire after the TTL', async () => {
  const h = detector();
  h.process(attempt('a', 0, 'failed', 1), attempt('a', 1, 'failed', 2), attempt('a', 2, 'failed', 3));
  const restarted = await h.restart(await h.snapshot(), flagSuspiciousOrders);
  restarted.process(attempt('a', 3, 'failed', 4));
  assert.deepEqual(restarted.out.records.map((r) => [r.window_failures, r.suspicious]), [[4, true]]);
  const later = await h.restart(await h.snapshot(), flagSuspiciousOrders, h.now + 2 * SUSPICION_WINDOW_MS);
  later.process(attempt('a', 3, 'failed', 4));
  assert.deepEqual(later.out.records.map((r) => r.window_failures), [1]);
});

/** Failed rows the detector must flag: per (order, window) with F failures, F - max of them. */
function expectedFlaggedFailures(payments: PaymentEvent[]): number {
  const failures = new Map<string, number>();
  for (const p of payments) {
    if (p.status !== 'FAILED') continue;
    const t = Date.parse(p.attempted_at);
    const key = `${p.order_id}@${t - (t % SUSPICION_WINDOW_MS)}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
  }
  let flagged = 0;
  for (const f of failures.values()) flagged += Math.max(0, f - MAX_FAILURES_PER_WINDOW);
  return flagged;
}

test('generator: all records pass the schema and its bursts trip the flag, in any arrival order', () => {
  const payments: PaymentEvent[] = [];
  for (let i = 0; i < 10_000; i++) {
    const raw = samplePayment(i, mulberry32(mixSeed(0, i)));
    const parsed = PaymentEvent.safeParse(raw);
    assert.ok(parsed.success, `record ${i}: ${JSON.stringify(raw)}`);
    payments.push(parsed.data);
  }
  assert.equal(new Set(payments.map((p) => p.payment_id)).size, payments.length);
  assert.deepEqual(new Set(payments.map((p) => p.status)), new Set(['SUCCEEDED', 'FAILED', 'PENDING', 'REFUNDED']));
  const expected = expectedFlaggedFailures(payments);
  assert.ok(expected >= 100, `the generator must produce failure bursts (flagged failures: ${expected})`);
  const flaggedFailures = (rows: (PaymentEvent & BurstFlag)[]) => rows.filter((r) => r.suspicious && r.status === 'FAILED').length;
  const inOrder = detector().process(...payments);
  assert.equal(flaggedFailures(inOrder.out.records), expected);
  // Kafka partitions interleave records: the flagged failure count must not depend on that.
  const shuffled = [...payments];
  const random = mulberry32(3);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  assert.equal(flaggedFailures(detector().process(...shuffled).out.records), expected);
  // Ordinary orders (one payment each) are never suspicious.
  assert.ok(inOrder.out.records.filter((r) => r.suspicious).every((r) => r.order_id.length === 13), 'only burst orders (11 digits) are flagged');
});

test('the job reads topic payments and generates with samplePayment', () => {
  assert.equal(paymentsJob.name, 'payments');
  assert.equal(paymentsJob.input?.topic, 'payments');
  assert.equal(paymentsJob.input?.generate, samplePayment);
  assert.deepEqual(samplePayment(5, mulberry32(1)), samplePayment(5, mulberry32(1)));
});
