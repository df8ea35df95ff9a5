import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRunSummary, readTableCommand, runSummary, runSummaryMessage } from '../../../src/cli/exit-summary.js';
import { StatusLine, formatStatus, jobStatus } from '../../../src/cli/status-line.js';
import type { JobOverview, JobOverviewSource, StepOverview } from '../../../src/runtime/console/job-overview.js';
import { pino } from 'pino';
import { TerminalWriter } from '../../../src/runtime/terminal/terminal-writer.js';
import { ManualClock } from '../../../src/runtime/time/manual-clock.js';

function step(id: string, kind: StepOverview['kind'], figures: Partial<StepOverview> = {}): StepOverview {
  return { id: `j.${id}`, name: id, kind, inputs: [], keyed: false, recordsIn: null, recordsOut: null, busySeconds: 0, backpressureSeconds: 0, deadLetters: 0, watermarkLagSeconds: null, ...figures };
}

/** An overview at `at` (epoch ms) after a source read `read` and the sink took `written` records. */
function overview(at: number, read: number, written: number, extra: Partial<JobOverview> = {}): JobOverview {
  const sink = { rowsWritten: written, files: 2, bytes: 1000, commits: 3, rowsCommitted: written - 10, bufferedBytes: 0 };
  return {
    job: 'j',
    phase: 'running',
    phaseSince: 0,
    startedAt: 1_000,
    sampledAt: at,
    ready: true,
    parallelism: 2,
    steps: [step('input', 'source', { recordsIn: read, recordsOut: read - 5 }), step('map', 'operator', { recordsIn: read - 5, recordsOut: read - 5 }), step('out', 'sink', { recordsIn: written, sink })],
    checkpoints: {
      started: 4,
      completed: 3,
      failed: 1,
      history: [
        { id: 7, triggeredAt: 1_000, final: false, status: 'completed', completedAt: 1_500, durationMs: 500, location: '/c/j/chk-7' },
        { id: 8, triggeredAt: 9_000, final: false, status: 'completed', completedAt: 9_250, durationMs: 250, location: '/c/j/chk-8' },
        { id: 9, triggeredAt: 11_000, final: false, status: 'failed', failure: 'timed out' },
      ],
    },
    kafka: { partitions: [{ topic: 't', partition: 0, lag: 100 }, { topic: 't', partition: 1, lag: 23 }] },
    outputs: [{ step: 'j.out', kind: 'iceberg', name: 'sink.j', location: 'file:///w/sink/j', catalog: 'local warehouse /w', metadataLocation: "file:///w/sink/j/metadata/00003-x.metadata.json", totalRows: 5_000 }],
    commits: [],
    deadLetters: { total: 5, location: '/d/j.jsonl', byReason: [{ step: 'j.input', reason: 'malformed_json', count: 3 }, { step: 'j.input', reason: 'schema_violation', count: 2 }] },
    ...extra,
  };
}

test('status: rates between two samples, the rest from the newer one', () => {
  const before = overview(10_000, 1_000, 900);
  const now = overview(12_000, 5_000, 4_900);
  const status = jobStatus(now, before);
  assert.equal(status.readPerSecond, 2_000);
  assert.equal(status.writtenPerSecond, 2_000);
  assert.equal(status.lag, 123);
  assert.deepEqual(status.lastCheckpoint, { id: 8, ageMs: 2_750, durationMs: 250 });
  assert.equal(status.rowsCommitted, 4_890);
  assert.equal(status.deadLetters, 5);
  assert.equal(formatStatus(status), 'j running · read 2,000/s · wrote 2,000/s · lag 123 · checkpoint #8 2.8 s ago (250 ms) · 1 failed · 4,890 rows committed · 5 dead letters');
  const first = jobStatus(now, undefined);
  assert.equal(first.readPerSecond, undefined);
  assert.match(formatStatus({ ...first, lag: undefined, lastCheckpoint: undefined }), /^j running · read …\/s · wrote …\/s · no checkpoint yet · 1 failed/);
});

function fakeSource(clock: ManualClock): { source: JobOverviewSource; samples: { n: number } } {
  const samples = { n: 0 };
  const source = {
    sample: async () => {
      samples.n++;
      return overview(clock.now(), samples.n * 1_000, samples.n * 1_000);
    },
  } as unknown as JobOverviewSource;
  return { source, samples };
}

test('on a terminal with pretty logs the status is drawn in place every second', async () => {
  const clock = new ManualClock(20_000);
  const drawn: string[] = [];
  const terminal = new TerminalWriter(99, { write: (text: string) => drawn.push(text) }, true);
  const { source } = fakeSource(clock);
  const line = new StatusLine({ source, terminal, logger: pino({ level: 'silent' }), clock, intervalMs: 10_000, pretty: true }).start();
  await clock.advance(1_000);
  await clock.advance(1_000);
  await new Promise((resolve) => setImmediate(resolve));
  const text = drawn.join('').replace(/\x1b\[[0-9;]*[mK]/g, '');
  assert.match(text, /j running · read 1,000\/s · wrote 1,000\/s · lag 123/);
  line.stop();
  assert.ok(drawn.at(-1)?.endsWith('\x1b[K'), 'stopping erases the status line');
});

test('elsewhere (JSON logs) a status line is logged every interval with its figures as fields', async () => {
  const clock = new ManualClock(20_000);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const terminal = new TerminalWriter(99, { write: () => undefined }, false);
  const { source } = fakeSource(clock);
  const line = new StatusLine({ source, terminal, logger, clock, intervalMs: 10_000, pretty: false }).start();
  await new Promise((resolve) => setImmediate(resolve)); // the first sample (figures for the rates) settles
  await clock.advance(10_000);
  await new Promise((resolve) => setImmediate(resolve));
  await clock.advance(10_000);
  await new Promise((resolve) => setImmediate(resolve)); // the second sample settles
  line.stop();
  assert.equal(lines.length, 2);
  assert.match(String(lines[0]!.msg), /^status: j running · read 100\/s/);
  assert.deepEqual((lines[1]!.status as { lag: number; rowsCommitted: number }).lag, 123);
  const none = new StatusLine({ source, terminal, logger, clock, intervalMs: 0, pretty: false }).start();
  await clock.advance(60_000);
  none.stop();
  assert.equal(lines.length, 2, 'STATUS_INTERVAL_MS=0: no status line');
});

test('exit summary: rows, table, checkpoint, dead letters and a command that reads the table', () => {
  const summary = runSummary(overview(31_000, 5_000, 4_900), 'stopped');
  assert.equal(summary.rowsCommitted, 4_890);
  assert.equal(summary.runtimeMs, 30_000);
  assert.deepEqual(summary.lastCheckpoint, { id: 8, location: '/c/j/chk-8' });
  assert.equal(summary.outputs[0]!.location, '/w/sink/j', 'a local table as a path');
  assert.deepEqual(summary.deadLetters.byReason, [
    { reason: 'malformed_json', count: 3 },
    { reason: 'schema_violation', count: 2 },
  ]);
  const block = formatRunSummary(summary, false);
  assert.match(block, /^j stopped after 30 s\n/);
  assert.match(block, /rows committed +4,890 in 3 commits this run/);
  assert.match(block, /table +sink\.j \(holds 5,000 rows\)/);
  assert.match(block, /location +\/w\/sink\/j/);
  assert.match(block, /last checkpoint +#8 {2}\/c\/j\/chk-8/);
  assert.match(block, /dead letters +5 \(malformed_json 3, schema_violation 2\) → \/d\/j\.jsonl/);
  assert.match(block, /read it +python3 -c 'from pyiceberg\.table import StaticTable; t = StaticTable\.from_metadata\("file:\/\/\/w\/sink\/j\/metadata\/00003-x\.metadata\.json"\)/);
  assert.match(runSummaryMessage(summary), /^j stopped after 30 s: 4,890 rows committed in 3 commits to sink\.j at \/w\/sink\/j; read it with: python3 .*; 5 dead letters in \/d\/j\.jsonl$/);
});

test('the read command quotes for the shell and names the region of tables in AWS', () => {
  const command = readTableCommand({ kind: 'iceberg', name: 'sink.o', location: 's3://b/o', catalog: 'S3 Tables arn', region: 'eu-west-1', metadataLocation: "s3://b/it's/v1.metadata.json" });
  assert.equal(
    command,
    `python3 -c 'from pyiceberg.table import StaticTable; t = StaticTable.from_metadata("s3://b/it'\\''s/v1.metadata.json", properties={"s3.region": "eu-west-1"}); rows = t.scan().to_arrow(); print(rows.num_rows, "rows"); print(rows.slice(0, 3).to_pylist())'`,
  );
  assert.equal(readTableCommand({ kind: 'jsonl', name: 'x', location: '/x', catalog: '' }), undefined);
});
