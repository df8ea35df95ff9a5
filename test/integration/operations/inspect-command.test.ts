/**
 * `run.js inspect <job>` after a run on S3 Tables, S3 checkpoints and DynamoDB HA (moto): the
 * committed row count, rows per partition and the last commit's checkpoint agree with what
 * pyiceberg reads; the checkpoints, the HA pointer and the released lease are those of the run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureServices, readIcebergTable, uniqueName, type ServiceEndpoints } from '../../helpers/services.js';
import { createBuckets, currentSnapshotSummary } from '../jobs/support/job-e2e.js';
import { motoEnv, runCli } from './support/operator-cli.js';

let endpoints: ServiceEndpoints;
const workDir = mkdtempSync(join(tmpdir(), 'inspect-'));
before(async () => {
  endpoints = await ensureServices({ moto: true });
});
after(() => rmSync(workDir, { recursive: true, force: true }));

/** Days since the epoch as a date (what the day transform's partition value means). */
function dayOf(days: number): string {
  const date = new Date(Date.UTC(1970, 0, 1 + days));
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-${String(date.getUTCDate()).padStart(2, '0')}`;
}

test('inspect after a run prints the committed row count, rows per partition, checkpoints and the HA state', { timeout: 240_000 }, async () => {
  const { tableBucketArn, checkpointUri } = await createBuckets();
  const haTable = uniqueName('inspect-ha-');
  const env = { ...motoEnv(endpoints), TABLE_BUCKET_ARN: tableBucketArn, CHECKPOINT_URI: checkpointUri, DYNAMODB_TABLE: haTable, STREAMLINE_WORK_DIR: workDir, METRICS_PORT: '0' };
  const count = 6_000;
  const run = await runCli(['jobs/user_events', '--generator-count', String(count), '--checkpoint-interval-ms', '1000', '--parallelism', '1'], env);
  assert.equal(run.code, 0, run.stderr);
  const lastCheckpoint = Number(/"lastCheckpoint":(\d+)/.exec(run.stderr)?.[1]);

  const r = await runCli(['inspect', 'jobs/user_events'], env);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);

  const current = await currentSnapshotSummary(tableBucketArn, 'user_events');
  const table = await readIcebergTable(current!.metadataLocation, { files: true });
  assert.equal(table.rowCount, count);
  assert.match(r.stdout, new RegExp(`committed rows:  ${table.rowCount.toLocaleString('en-US')} in ${table.files!.length} data files`));
  assert.match(r.stdout, new RegExp(`metadata: +${current!.metadataLocation.replaceAll('.', '\\.')}`));

  const expected = new Map<string, number>();
  for (const file of table.files!) {
    const day = dayOf(Number(file.partition.event_time_day));
    expected.set(day, (expected.get(day) ?? 0) + file.recordCount);
  }
  for (const [day, rows] of expected) assert.match(r.stdout, new RegExp(`event_time_day=${day} +${rows.toLocaleString('en-US')} rows`), `partition ${day}`);

  const committedCheckpoint = table.snapshots.at(-1)!.summary['streamline.checkpoint-id'];
  assert.match(r.stdout, new RegExp(`last commit: +\\d.* ago — snapshot ${table.currentSnapshotId}, checkpoint user_events/${committedCheckpoint}, fencing token 1`));
  assert.match(r.stdout, new RegExp(`Checkpoints of 'user_events' in ${checkpointUri.replaceAll('.', '\\.')}\\n +${lastCheckpoint}  completed`));
  assert.match(r.stdout, new RegExp(`HA store dynamodb://${haTable}\\n  pointer: checkpoint ${lastCheckpoint} \\(${checkpointUri.replaceAll('.', '\\.')}/user_events/chk-${lastCheckpoint}\\)`));
  assert.match(r.stdout, /lease: +released by '[^']+' \(fencing token 1\)/);
});

test('inspect of a job that never ran says so and exits 0', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(workDir, 'never-'));
  const r = await runCli(['inspect', 'jobs/orders'], { STREAMLINE_WORK_DIR: dir });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /Table sink\.orders\n  does not exist yet/);
  assert.match(r.stdout, /Checkpoints of 'orders' in file:\/\/.*\n  none yet/);
  assert.match(r.stdout, /pointer: none for file:\/\//);
  assert.match(r.stdout, /lease: +never taken/);
});
