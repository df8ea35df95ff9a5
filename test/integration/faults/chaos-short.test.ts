/**
 * The short form of the chaos suite (`npm run test:chaos` runs the long one): one seeded run of
 * the orders job through the CLI while a producer writes known ids and hostile records, with a
 * kill right after a checkpoint, a kill right after an Iceberg commit, a SIGSTOP past the lease
 * with a standby taking over, S3 / S3 Tables / DynamoDB blackholed, and a burst of bad records.
 * The table (pyiceberg) must hold every valid id exactly once and the dead-letter topic every
 * hostile record; no process may exit unexpectedly and the AWS secret never appears in a log.
 * CHAOS_SEED picks another seed (default 11).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, runChaos } from '../../chaos/chaos-run.js';

test('chaos, short form: faults on a seeded schedule while records flow; nothing missing, duplicated or lost', async (t) => {
  const report = await runChaos({
    seed: Number(process.env.CHAOS_SEED ?? 11),
    faults: 5,
    kinds: ['kill-after-checkpoint', 'kill-after-commit', 'sigstop-takeover', 'aws-blackhole', 'bad-burst'],
    rate: 200,
    hostileFraction: 0.02,
  });
  const text = formatReport(report);
  for (const line of [...text.split('\n'), ...report.faultLog]) t.diagnostic(line);
  assert.ok(report.outcome.expectedIds > 1_000, `the producer wrote valid records\n${text}`);
  assert.ok(report.outcome.deadLettersExpected > 1_000, `the producer wrote hostile records and a burst\n${text}`);
  assert.equal(Object.values(report.faults).reduce((a, b) => a + b, 0), 5, `every scheduled fault was injected\n${text}`);
  assert.ok(report.pass, `${text}\n${JSON.stringify(report.unexpectedExits, null, 2)}\n${JSON.stringify(report.outcome.samples)}`);
});
