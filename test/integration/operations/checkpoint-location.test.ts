/**
 * The HA pointer belongs to a checkpoint location. In one work dir (one local HA store):
 * changing CHECKPOINT_URI — from the embedded default to an S3 bucket with S3 Tables, as the
 * setup guide's production settings do — and back both run; deleting the checkpoints to start
 * over is refused at start with the way out (also by `check`), and that way out works.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureServices, readIcebergTable, type ServiceEndpoints } from '../../helpers/services.js';
import { createBuckets, currentSnapshotSummary, localMetadataLocation } from '../jobs/support/job-e2e.js';
import { checkLine, motoEnv, runCli } from './support/operator-cli.js';

let endpoints: ServiceEndpoints;
const folders: string[] = [];
before(async () => {
  endpoints = await ensureServices({ moto: true });
});
after(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function workDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

const COUNT = 2_000;
const job = (extra: readonly string[] = []) => ['jobs/user_events', '--generator-count', String(COUNT), '--checkpoint-interval-ms', '1000', ...extra];

/** Rows of the local warehouse's user_events table, read by pyiceberg. */
async function localRows(dir: string): Promise<number> {
  return (await readIcebergTable(localMetadataLocation(dir, 'user_events'), {})).rowCount;
}

test('two runs in one work dir with different CHECKPOINT_URI both exit 0, and so does going back', { timeout: 300_000 }, async () => {
  const dir = workDir('ckpt-uri-');
  const local = { STREAMLINE_WORK_DIR: dir, METRICS_PORT: '0' };
  const first = await runCli(job(), local);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await localRows(dir), COUNT);

  // The production settings of the setup guide: checkpoints in a regular bucket, tables in S3 Tables; HA still the local store.
  const { tableBucketArn, checkpointUri } = await createBuckets();
  const production = { ...local, ...motoEnv(endpoints), CHECKPOINT_URI: checkpointUri, TABLE_BUCKET_ARN: tableBucketArn };
  const second = await runCli(job(), production);
  assert.equal(second.code, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /FencedError/);
  const s3Table = await readIcebergTable((await currentSnapshotSummary(tableBucketArn, 'user_events'))!.metadataLocation, {});
  assert.equal(s3Table.rowCount, COUNT);

  // Back to the embedded default: its own pointer is still there; it restores and adds nothing.
  const third = await runCli(job(), local);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /"msg":"restored"/);
  assert.equal(await localRows(dir), COUNT, 'exactly once across the restart');

  const inspectLocal = await runCli(['inspect', 'jobs/user_events'], local);
  assert.match(inspectLocal.stdout, new RegExp(`pointer: checkpoint \\d+ \\(${dir}/checkpoints/user_events/chk-\\d+\\)`));
  const inspectS3 = await runCli(['inspect', 'jobs/user_events'], production);
  assert.match(inspectS3.stdout, new RegExp(`pointer: checkpoint \\d+ \\(${checkpointUri}/user_events/chk-\\d+\\)`));
});

test('deleted checkpoints: the start is refused with the way out, check says the same, and FROM_CHECKPOINT=none starts over', { timeout: 300_000 }, async () => {
  const dir = workDir('ckpt-gone-');
  const env = { STREAMLINE_WORK_DIR: dir, METRICS_PORT: '0' };
  assert.equal((await runCli(job(), env)).code, 0);
  // Starting over as users do: checkpoints and table gone, the HA store (in the same work dir) left.
  rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
  rmSync(join(dir, 'warehouse'), { recursive: true, force: true });

  const check = await runCli(['check', 'jobs/user_events'], env);
  assert.equal(check.code, 1, check.stdout);
  assert.match(checkLine(check.stdout, 'HA pointer') ?? '', /^✗ HA pointer: names checkpoint \d+, which file:\/\/.* does not hold/);
  assert.match(check.stdout, /fix: .*FROM_CHECKPOINT=none/);

  const refused = await runCli(job(), env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /RestoreError.*names checkpoint \d+ of job 'user_events' as the latest in file:\/\/.*there are no checkpoints of the job there.*FROM_CHECKPOINT=none/);
  assert.doesNotMatch(refused.stderr, /FencedError/);

  const over = await runCli(job(['--from-checkpoint', 'none']), env);
  assert.equal(over.code, 0, over.stderr);
  assert.equal(await localRows(dir), COUNT);
  assert.equal((await runCli(['check', 'jobs/user_events'], env)).code, 0, 'the pointer names an existing checkpoint again');
});
