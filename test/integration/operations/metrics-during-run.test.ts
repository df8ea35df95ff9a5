/**
 * Scrapes /metrics of `run.js jobs/orders` (a child process reading a real Kafka topic into the
 * local warehouse) while it runs: the values move, and at the end they agree with what was
 * produced (produce.js), what Kafka has committed for the group, and what pyiceberg reads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureServices } from '../../helpers/services.js';
import { jobArgs, jobEnvironment, newDeployment, type Deployment } from './support/job-env.js';
import {
  JobProcess,
  committedOffsets,
  completedCheckpoints,
  expectedOrderIds,
  freePort,
  httpGet,
  produceOrders,
  readOrdersTable,
  readTopic,
  scrape,
  waitFor,
  type ProduceSummary,
  type Scrape,
} from './support/job-harness.js';

// Large enough that reading it spans several scrapes on a quiet machine (60,000 were fetched between two).
const COUNT = 200_000;
const JOB = { job: 'orders' };
const INPUT = { job: 'orders', operator: 'orders.input' };

describe('metrics of a running job agree with Kafka and the Iceberg table', () => {
  let d: Deployment;
  let summary: ProduceSummary;
  let job: JobProcess | undefined;
  let port: number;
  const samples: { at: number; s: Scrape }[] = [];
  let final: Scrape;
  let exitCode: number | null = null;

  before(async () => {
    const services = await ensureServices({ kafka: true });
    d = newDeployment(services.kafkaBrokers, 'opsx-metrics');
    const t0 = performance.now();
    summary = await produceOrders(d.brokers, d.topic, { count: COUNT, seed: 11, badFraction: 0.02, partitions: 3 });
    console.log(`produced ${summary.produced} (${summary.bad} bad) in ${Math.round(performance.now() - t0)} ms`);
  });

  after(async () => {
    await job?.kill();
  });

  it('values move during the run and end where Kafka, produce.js and pyiceberg say', async () => {
    port = await freePort();
    const started = performance.now();
    job = new JobProcess(jobArgs(port), jobEnvironment(d));
    const records = await readTopic(d.brokers, d.topic);
    assert.equal(records.length, COUNT);
    const expected = expectedOrderIds(records, summary.badIds);

    // Scrape every 100 ms until the job has read everything, written every row, and committed twice more.
    let completedWhenWritten: number | undefined;
    final = await waitFor('the job to drain the topic and commit', 180_000, async () => {
      if (job!.child.exitCode !== null) throw new Error(`job exited early (${job!.child.exitCode}):\n${job!.tail()}`);
      const s = await scrape(port);
      if (s === undefined) return undefined;
      samples.push({ at: performance.now() - started, s });
      const lag = s.sum('streamline_kafka_consumer_lag_records', JOB);
      const drained = s.sum('streamline_records_in_total', INPUT) === COUNT && s.all('streamline_kafka_consumer_lag_records', JOB).length === 3 && lag === 0;
      const rows = s.sum('streamline_sink_rows_total', { job: 'orders', operator: 'orders.table' }) ?? 0;
      const completed = s.sum('streamline_checkpoints_completed_total', JOB) ?? 0;
      if (drained && rows === expected.size && completedWhenWritten === undefined) completedWhenWritten = completed;
      return completedWhenWritten !== undefined && completed >= completedWhenWritten + 2 ? s : undefined;
    }, 100);
    console.log(`drained ${COUNT} records in ${Math.round(performance.now() - started)} ms, ${samples.length} scrapes`);

    const health = await httpGet(port, '/healthz');
    assert.equal(health.status, 200);

    // Values move: records in and checkpoints grow over the scrapes, lag was positive and fell to 0.
    const series = (name: string, where: Record<string, string>) => samples.map((x) => x.s.sum(name, where) ?? 0);
    const recordsIn = series('streamline_records_in_total', INPUT);
    const completed = series('streamline_checkpoints_completed_total', JOB);
    const lag = series('streamline_kafka_consumer_lag_records', JOB);
    const monotonic = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]!);
    assert.ok(monotonic(recordsIn), 'records in never decrease');
    assert.ok(monotonic(completed), 'completed checkpoints never decrease');
    // The source may read the whole backlog between two scrapes (its queue holds tens of thousands, and a
    // quiet machine reads 60,000 records in well under a second): its count shows mid-run when a scrape
    // sees it before the sink has every row. The sink is paced by checkpoints.
    const sinkIn = series('streamline_records_in_total', { job: 'orders', operator: 'orders.table' });
    assert.ok(monotonic(sinkIn), 'sink records in never decrease');
    assert.ok(
      recordsIn.some((x, i) => x > 0 && (x < COUNT || sinkIn[i]! < expected.size)),
      `source records in were seen mid-run: ${samples.map((_, i) => `${recordsIn[i]}/${sinkIn[i]}`).slice(0, 12).join(', ')} (source/sink)`,
    );
    // The sink can take tens of thousands of records between two scrapes, so one value seen between 0 and the end proves it moved.
    assert.ok(sinkIn.some((x) => x > 0 && x < expected.size), `sink records in were seen mid-run: ${[...new Set(sinkIn)].slice(0, 10).join(', ')}`);
    assert.ok(completed.at(-1)! >= 3 && completed.at(-1)! > completed.find((x) => x > 0)!, `checkpoints completed grew: ${[...new Set(completed)].join(', ')}`);
    assert.ok(Math.max(...lag) > 0, 'consumer lag was positive while the backlog was read');
    assert.equal(lag.at(-1), 0);

    // Agreement with produce.js.
    const valid = COUNT - summary.bad;
    assert.equal(final.sum('streamline_records_in_total', INPUT), COUNT, 'source read every produced record');
    assert.equal(final.sum('streamline_records_out_total', INPUT), valid, 'source emitted every valid record once');
    assert.equal(final.sum('streamline_dead_letters_total', JOB), summary.bad, 'dead letters = malformed produced');
    assert.equal(final.sum('streamline_dead_letters_total', { job: 'orders', reason: 'malformed_json' }), Math.ceil(summary.bad / 2));
    assert.equal(final.sum('streamline_dead_letters_total', { job: 'orders', reason: 'schema_violation' }), Math.floor(summary.bad / 2));
    assert.equal(final.sum('streamline_records_in_total', { job: 'orders', operator: 'orders.dedup' }), valid);
    assert.equal(final.sum('streamline_records_out_total', { job: 'orders', operator: 'orders.dedup' }), expected.size, 'dedup dropped exactly the redeliveries');
    assert.equal(final.sum('streamline_records_in_total', { job: 'orders', operator: 'orders.table' }), expected.size);

    // Agreement with Kafka: committed offsets of the group are the end of every partition.
    const committed = await committedOffsets(d.brokers, d.groupId, d.topic);
    const ends = new Map<number, number>();
    for (const r of records) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
    assert.deepEqual([...committed.entries()].sort(), [...ends.entries()].sort());

    // Agreement with the checkpoint folder.
    const onDisk = completedCheckpoints(d.checkpoints);
    assert.equal(final.sum('streamline_checkpoint_last_completed_id', JOB), onDisk.at(-1));
    assert.equal(final.sum('streamline_checkpoints_failed_total', JOB) ?? 0, 0);
    assert.ok((final.sum('streamline_checkpoints_started_total', JOB) ?? 0) >= (final.sum('streamline_checkpoints_completed_total', JOB) ?? 0));
    assert.ok((final.sum('streamline_checkpoint_size_bytes', JOB) ?? 0) > 0);
    assert.ok((final.sum('streamline_checkpoint_duration_seconds_count', JOB) ?? 0) >= 3);
    assert.ok(final.sum('streamline_checkpoint_last_completed_age_seconds', JOB)! < 30);

    // Agreement with the table (pyiceberg).
    const table = await readOrdersTable(d.warehouse, { column: 'order_id', files: true });
    assert.ok(table, 'table exists');
    assert.equal(table.rowCount, final.sum('streamline_sink_rows_total', { job: 'orders', operator: 'orders.table' }));
    assert.deepEqual(table.column!.values, [...expected].sort(), 'table holds each valid order exactly once');
    assert.equal(table.snapshots.length, final.sum('streamline_sink_commits_total', { job: 'orders', operator: 'orders.table' }), 'one Iceberg snapshot per sink commit');
    assert.equal(table.files!.length, final.sum('streamline_sink_files_total', { job: 'orders', operator: 'orders.table' }));
    assert.equal(table.files!.reduce((n, f) => n + f.fileSizeInBytes, 0), final.sum('streamline_sink_bytes_total', { job: 'orders', operator: 'orders.table' }));
    assert.equal(final.sum('streamline_sink_commit_duration_seconds_count', { job: 'orders', operator: 'orders.table' }), table.snapshots.length);
    assert.equal(final.sum('streamline_sink_commit_conflicts_total', { job: 'orders', operator: 'orders.table' }) ?? 0, 0, 'a single writer never conflicts');

    // Process and job state.
    assert.equal(final.sum('streamline_job_ready', JOB), 1);
    assert.equal(final.sum('streamline_ha_lease_held', JOB), 1);
    assert.equal(final.sum('streamline_job_starts_total', JOB), 1);
    assert.equal(final.sum('streamline_restores_total', JOB) ?? 0, 0, 'a fresh deployment restores nothing');
    assert.ok((final.sum('process_cpu_seconds_total') ?? 0) > 0, 'default process metrics are exported');

    const signalledAt = performance.now();
    job.signal('SIGTERM');
    const exit = await job.exit(40_000);
    exitCode = exit.code;
    assert.equal(exit.code, 0, job.tail());
    console.log(`graceful stop took ${Math.round(performance.now() - signalledAt)} ms after the signal`);
  });

  it('exports the series the runtime must still wire (watermark lag, zero-initialised counters)', () => {
    assert.ok(final, 'the run above scraped the job');
    assert.equal(exitCode, 0);
    const wm = final.all('streamline_watermark_lag_seconds', JOB);
    assert.ok(wm.length > 0, 'streamline_watermark_lag_seconds is exported for the source (needs the runtime to call metrics.observeWatermark)');
    for (const w of wm) assert.ok(Number.isFinite(w.value) && w.value >= 0, `watermark lag ${JSON.stringify(w)}`);
    const first = samples[0]!.s;
    assert.notEqual(first.sum('streamline_checkpoints_failed_total', JOB), undefined, 'counters exist from the first scrape (needs metrics.initJob at start)');
    assert.notEqual(first.sum('streamline_fenced_commits_total', JOB), undefined);
  });
});
