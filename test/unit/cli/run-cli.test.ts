import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The CLI under test is the one compiled beside this test (build/src/run.js).
const RUN = resolve(fileURLToPath(import.meta.url), '../../../../src/run.js');

function run(args: string[], env: Record<string, string> = {}) {
  const workDir = mkdtempSync(join(tmpdir(), 'cli-'));
  try {
    const result = spawnSync(process.execPath, [RUN, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', METRICS_PORT: '0', STREAMLINE_WORK_DIR: workDir, LOG_LEVEL: 'warn', ...env },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

test('--help lists the jobs and every flag with its environment variable, exit 0', () => {
  const r = run(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /jobs\/orders/);
  assert.match(r.stdout, /--checkpoint-uri\s.*\n\s+env: CHECKPOINT_URI/);
  assert.match(r.stdout, /--kafka-brokers/);
});

test('an unknown flag or job path fails with exit 2 and says what is wrong', () => {
  const flag = run(['jobs/orders', '--no-such-flag', 'x']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown flag --no-such-flag/);
  const job = run(['jobs/nope']);
  assert.equal(job.code, 2);
  assert.match(job.stderr, /No job module at 'jobs\/nope'.*jobs\/orders/);
  const missing = run([]);
  assert.equal(missing.code, 2);
});

test('bad configuration fails at start naming the setting', () => {
  const s3Arn = run(['jobs/orders', '--generator-count', '10'], { TABLE_BUCKET_ARN: 'arn:aws:s3:::testing-python-flink-connector' });
  assert.equal(s3Arn.code, 2);
  assert.match(s3Arn.stderr, /TABLE_BUCKET_ARN.*regular S3 bucket ARN.*s3tables/s);
  const interval = run(['jobs/orders', '--checkpoint-interval-ms', 'soon']);
  assert.equal(interval.code, 2);
  assert.match(interval.stderr, /CHECKPOINT_INTERVAL_MS \(--checkpoint-interval-ms\)/);
  const uri = run(['jobs/orders'], { CHECKPOINT_URI: 'ftp://host/x' });
  assert.equal(uri.code, 2);
  assert.match(uri.stderr, /CHECKPOINT_URI/);
  const brokers = run(['jobs/orders'], { KAFKA_BROKERS: 'not a broker list' });
  assert.equal(brokers.code, 2);
  assert.match(brokers.stderr, /KAFKA_BROKERS/);
  const client = run(['jobs/orders', '--kafka-client', 'librdkafka'], { KAFKA_BROKERS: '127.0.0.1:1' });
  assert.equal(client.code, 2);
  assert.match(client.stderr, /KAFKA_CLIENT \(--kafka-client\).*kafkajs, platformatic.*'librdkafka'/);
});

test('a bounded embedded-default run exits 0', () => {
  const r = run(['jobs/orders', '--generator-count', '500', '--checkpoint-interval-ms', '200']);
  assert.equal(r.code, 0, r.stderr);
});

test('check on the embedded default passes every item and exits 0; a bad setting is a ✗ line naming it, exit 1', () => {
  const ok = run(['check', 'jobs/orders']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^✓ checkpoints \(CHECKPOINT_URI\): .* is writable/m);
  assert.match(ok.stdout, /^All \d+ checks passed\.$/m);
  const bad = run(['check', 'jobs/orders'], { TABLE_BUCKET_ARN: 'arn:aws:s3:::testing-python-flink-connector', STATE_BACKEND: 'rocks' });
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stdout, /^✗ TABLE_BUCKET_ARN \(--table-bucket-arn\): .*regular S3 bucket ARN/m);
  assert.match(bad.stdout, /^✗ STATE_BACKEND \(--state-backend\): must be 'heap'/m);
});

test('check and inspect need a job; an unknown one is exit 2', () => {
  assert.equal(run(['check']).code, 2);
  const unknown = run(['inspect', 'jobs/nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /No job module at 'jobs\/nope'/);
});
