/** payments, end to end: Kafka (real broker) → CLI job → S3 Tables (moto) → pyiceberg; and the embedded default. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { MAX_FAILURES_PER_WINDOW, PaymentEvent, SUSPICION_WINDOW_MS } from '../../../src/jobs/payments.js';
import { samplePayment } from '../../../src/jobs/samples/payments-sample.js';
import { mixSeed, mulberry32 } from '../../../src/runtime/random.js';
import { KAFKA_CLIENT_KINDS } from '../../../src/operators/kafka/kafka-config.js';
import { ensureServices, type IcebergJsonValue, type ServiceEndpoints } from '../../helpers/services.js';
import { localMetadataLocation, readTable, runEmbedded, runKafkaToS3Tables } from './support/job-e2e.js';

/**
 * Failed rows the job must flag suspicious: per (order, 10-minute window) with F failures,
 * F - 3 of them, whatever order Kafka's partitions deliver them in.
 */
function expectedFlaggedFailures(payments: PaymentEvent[]): number {
  const failures = new Map<string, number>();
  for (const p of payments) {
    if (p.status !== 'FAILED') continue;
    const t = Date.parse(p.attempted_at);
    const key = `${p.order_id}@${Math.floor(t / SUSPICION_WINDOW_MS)}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
  }
  return [...failures.values()].reduce((n, f) => n + Math.max(0, f - MAX_FAILURES_PER_WINDOW), 0);
}

function flaggedFailures(rows: Record<string, IcebergJsonValue>[]): number {
  return rows.filter((r) => r.suspicious === true && r.status === 'FAILED').length;
}

describe('payments job end to end', () => {
  let endpoints: ServiceEndpoints;
  before(async () => {
    endpoints = await ensureServices({ kafka: true, moto: true });
  });

  for (const client of KAFKA_CLIENT_KINDS) it(`Kafka → S3 Tables (${client}): every valid payment once with its suspicious flag, malformed ones in payments.dlq`, async (t) => {
    const run = await runKafkaToS3Tables(endpoints, { name: 'payments', generate: samplePayment }, {
      count: 3000, badFraction: 0.05, seed: 13, partitions: 4, column: 'payment_id', rows: true, client,
      expectedRows: (records, bad) => records.length - bad.size,
    });
    const valid = run.records.filter((_, i) => !run.bad.has(i)).map((r) => PaymentEvent.parse(r));
    assert.deepEqual(run.table.column!.values, valid.map((p) => p.payment_id).sort());
    const expected = expectedFlaggedFailures(valid);
    assert.ok(expected > 10, `the sample has failure bursts (${expected})`);
    assert.equal(flaggedFailures(run.table.rows!), expected);
    t.diagnostic(`produced 3000 (${run.summary.bad} malformed), ${expected} flagged failures; timings ${JSON.stringify(run.timings)}`);
  });

  it('embedded default: --generator-count 5000 writes a local table; amounts exact, bursts flagged', async (t) => {
    const count = 5000;
    const started = Date.now();
    const { workDir, code, log } = await runEmbedded('payments', count);
    assert.equal(code, 0, log.logTail());
    const table = await readTable(localMetadataLocation(workDir, 'payments'), { rows: true });
    assert.equal(table.rowCount, count);
    const payments = Array.from({ length: count }, (_, i) => PaymentEvent.parse(samplePayment(i, mulberry32(mixSeed(0, i)))));
    const byId = new Map(table.rows!.map((r) => [r.payment_id as string, r]));
    for (const p of payments) {
      const row = byId.get(p.payment_id);
      assert.ok(row, `payment ${p.payment_id} is in the table`);
      assert.equal(Math.round(Number(row.amount) * 100), p.amount);
      assert.equal(row.status, p.status);
      assert.equal(row.currency, p.currency);
    }
    const expected = expectedFlaggedFailures(payments);
    assert.equal(flaggedFailures(table.rows!), expected);
    rmSync(workDir, { recursive: true, force: true });
    t.diagnostic(`${count} payments, ${expected} flagged failures in ${Date.now() - started} ms`);
  });
});
