/** user_events, end to end: Kafka (real broker) → CLI job → S3 Tables (moto) → pyiceberg; and the embedded default. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sampleUserEvent } from '../../../src/jobs/samples/user-events-sample.js';
import { normalizeEventType } from '../../../src/jobs/transforms/event-type.js';
import { UserEvent } from '../../../src/jobs/user_events.js';
import { mixSeed, mulberry32 } from '../../../src/runtime/random.js';
import { KAFKA_CLIENT_KINDS } from '../../../src/operators/kafka/kafka-config.js';
import { ensureServices, type ServiceEndpoints } from '../../helpers/services.js';
import { localMetadataLocation, readTable, runEmbedded, runKafkaToS3Tables } from './support/job-e2e.js';

function validEventIds(records: unknown[], bad: ReadonlySet<number>): string[] {
  return records.filter((_, i) => !bad.has(i)).map((r) => UserEvent.parse(r).event_id).sort();
}

describe('user_events job end to end', () => {
  let endpoints: ServiceEndpoints;
  before(async () => {
    endpoints = await ensureServices({ kafka: true, moto: true });
  });

  for (const client of KAFKA_CLIENT_KINDS) it(`Kafka → S3 Tables (${client}): every valid event once, malformed ones in user_events.dlq`, async (t) => {
    const run = await runKafkaToS3Tables(endpoints, { name: 'user_events', generate: sampleUserEvent }, {
      count: 3000, badFraction: 0.05, seed: 12, partitions: 4, column: 'event_id', client,
      expectedRows: (records, bad) => validEventIds(records, bad).length,
    });
    assert.deepEqual(run.table.column!.values, validEventIds(run.records, run.bad));
    const eventDate = run.table.schema.fields.find((f) => f.name === 'event_date');
    assert.equal(eventDate?.type, 'date');
    assert.equal(run.table.schema.fields.find((f) => f.name === 'event_time')?.type, 'timestamptz');
    assert.deepEqual(run.table.partitionSpec.fields.map((f) => [f.name, f.transform]), [['event_time_day', 'day']]);
    t.diagnostic(`produced 3000 (${run.summary.bad} malformed); timings ${JSON.stringify(run.timings)}`);
  });

  it('embedded default: --generator-count 5000 writes a local table with normalized types and UTC event dates', async (t) => {
    const count = 5000;
    const started = Date.now();
    const { workDir, code, log } = await runEmbedded('user_events', count);
    assert.equal(code, 0, log.logTail());
    const table = await readTable(localMetadataLocation(workDir, 'user_events'), { rows: true });
    assert.equal(table.rowCount, count);
    const byId = new Map(table.rows!.map((r) => [r.event_id as string, r]));
    let others = 0;
    for (let i = 0; i < count; i++) {
      const event = UserEvent.parse(sampleUserEvent(i, mulberry32(mixSeed(0, i))));
      const row = byId.get(event.event_id);
      assert.ok(row, `event ${event.event_id} is in the table`);
      assert.equal(row.event_type, normalizeEventType(event.event_type));
      assert.equal(row.event_type_raw, event.event_type);
      assert.equal(Date.parse(row.event_time as string), Date.parse(event.occurred_at));
      assert.equal(row.event_date, new Date(Date.parse(event.occurred_at)).toISOString().slice(0, 10));
      if (row.event_type === 'other') others++;
    }
    assert.ok(others > 0, 'unknown event types are kept as other');
    rmSync(workDir, { recursive: true, force: true });
    t.diagnostic(`${count} events (${others} other) in ${Date.now() - started} ms`);
  });
});
