/** orders, end to end: Kafka (real broker) → CLI job → S3 Tables (moto) → pyiceberg; and the embedded default. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sampleOrder } from '../../../src/jobs/samples/orders-sample.js';
import { centsToDecimal, toCents } from '../../../src/jobs/transforms/money.js';
import { mixSeed, mulberry32 } from '../../../src/runtime/random.js';
import { KAFKA_CLIENT_KINDS } from '../../../src/operators/kafka/kafka-config.js';
import { ensureServices, type ServiceEndpoints } from '../../helpers/services.js';
import { localMetadataLocation, readTable, runEmbedded, runKafkaToS3Tables } from './support/job-e2e.js';

interface SampleOrder {
  order_id: string;
  currency: string;
  status: string;
  items: { quantity: number; unit_price: string }[];
  shipping: string;
}

/** Distinct order ids among the valid records: the job dedups redelivered orders. */
function distinctValidOrderIds(records: unknown[], bad: ReadonlySet<number>): string[] {
  return [...new Set(records.filter((_, i) => !bad.has(i)).map((r) => (r as SampleOrder).order_id))].sort();
}

describe('orders job end to end', () => {
  let endpoints: ServiceEndpoints;
  before(async () => {
    endpoints = await ensureServices({ kafka: true, moto: true });
  });

  for (const client of KAFKA_CLIENT_KINDS) it(`Kafka → S3 Tables (${client}): each valid order once (redeliveries deduplicated), malformed ones in orders.dlq`, async (t) => {
    const run = await runKafkaToS3Tables(endpoints, { name: 'orders', generate: sampleOrder }, {
      count: 3000, badFraction: 0.05, seed: 11, partitions: 4, column: 'order_id', client,
      expectedRows: (records, bad) => distinctValidOrderIds(records, bad).length,
    });
    const expected = distinctValidOrderIds(run.records, run.bad);
    assert.ok(expected.length < 3000 - run.summary.bad, 'the sample has redeliveries to deduplicate');
    assert.deepEqual(run.table.column!.values, expected);
    t.diagnostic(`produced 3000 (${run.summary.bad} malformed) → ${expected.length} orders; timings ${JSON.stringify(run.timings)}`);
  });

  it('embedded default: --generator-count 5000 writes a local table; totals, currency and status normalized', async (t) => {
    const count = 5000;
    const started = Date.now();
    const { workDir, code, log } = await runEmbedded('orders', count);
    assert.equal(code, 0, log.logTail());
    const table = await readTable(localMetadataLocation(workDir, 'orders'), { rows: true });
    // The generator as the datagen source runs it; in generator order the first sighting of an id wins.
    const first = new Map<string, SampleOrder>();
    for (let i = 0; i < count; i++) {
      const order = sampleOrder(i, mulberry32(mixSeed(0, i))) as SampleOrder;
      if (!first.has(order.order_id)) first.set(order.order_id, order);
    }
    assert.ok(first.size < count, 'the sample has redeliveries');
    assert.equal(table.rowCount, first.size);
    for (const row of table.rows!) {
      const order = first.get(row.order_id as string);
      assert.ok(order, `unexpected order ${String(row.order_id)}`);
      const cents = order.items.reduce((sum, item) => sum + item.quantity * toCents(item.unit_price), 0) + toCents(order.shipping);
      assert.equal(row.total_amount, centsToDecimal(cents), `total of ${order.order_id}`);
      assert.equal(row.currency, order.currency.trim().toUpperCase());
      assert.equal(row.item_count, order.items.reduce((n, item) => n + item.quantity, 0));
      assert.match(row.status as string, /^(CREATED|PAID|SHIPPED|DELIVERED|CANCELLED)$/);
    }
    rmSync(workDir, { recursive: true, force: true });
    t.diagnostic(`${count} generated → ${first.size} orders in ${Date.now() - started} ms`);
  });
});
