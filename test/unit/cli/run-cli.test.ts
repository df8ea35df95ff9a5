import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** The clients and stores a run on the embedded defaults does not use. */
const UNUSED_PACKAGES = /@aws-sdk\/|@smithy\/|aws-msk-iam-sasl-signer-js|kafkajs|classic-level/;

/**
 * A preload that notes, in every thread it runs in, the thread and each load of those packages,
 * and of flatbuffers: Apache Arrow is ESM, which this hook does not see, but it loads flatbuffers
 * (CommonJS) with it.
 */
const LOAD_RECORDER = `
const { appendFileSync } = require('node:fs');
const Module = require('node:module');
const { threadId } = require('node:worker_threads');
const out = process.env.LOAD_RECORD_FILE;
appendFileSync(out, 'thread ' + threadId + '\\n');
const pattern = /${UNUSED_PACKAGES.source}|flatbuffers/;
const load = Module._load;
// A package's own requires name it as the parent: that catches a package whose entry an ESM import loaded.
Module._load = function (request, parent) {
  const from = parent && parent.filename ? parent.filename : '';
  if (pattern.test(String(request)) || pattern.test(from)) appendFileSync(out, 'load ' + threadId + ' ' + request + ' from ' + from + '\\n');
  return load.apply(this, arguments);
};
`;

function recordLoads(args: string[]): { threads: Set<string>; loads: Array<{ thread: string; line: string }>; code: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loads-'));
  try {
    const recorder = join(dir, 'recorder.cjs');
    const record = join(dir, 'record.txt');
    writeFileSync(recorder, LOAD_RECORDER);
    writeFileSync(record, '');
    const result = spawnSync(process.execPath, ['--require', recorder, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', METRICS_PORT: '0', STREAMLINE_WORK_DIR: join(dir, 'work'), LOG_LEVEL: 'warn', PARALLELISM: '2', LOAD_RECORD_FILE: record },
    });
    const lines = readFileSync(record, 'utf8').split('\n').filter((line) => line !== '');
    return {
      threads: new Set(lines.filter((line) => line.startsWith('thread ')).map((line) => line.slice(7))),
      loads: lines.filter((line) => line.startsWith('load ')).map((line) => ({ thread: line.split(' ')[1]!, line })),
      code: result.status,
      stderr: result.stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a run on the embedded defaults loads none of the clients and stores it does not use (AWS SDK, MSK signer, kafkajs, LevelDB) in any thread, nor Apache Arrow in the coordinator', () => {
  // The recorder sees such loads, also through an ESM import (so an empty list below means none happened).
  const control = recordLoads(['--input-type=module', '-e', "await import('@aws-sdk/client-s3'); await import('classic-level'); await import('kafkajs'); await import('apache-arrow')"]);
  assert.equal(control.code, 0, control.stderr);
  for (const name of ['@aws-sdk/', 'classic-level', 'kafkajs', 'flatbuffers']) assert.ok(control.loads.some(({ line }) => line.includes(name)), `the recorder did not see ${name} load`);

  const r = recordLoads([RUN, 'jobs/orders', '--generator-count', '3000', '--checkpoint-interval-ms', '200']);
  assert.equal(r.code, 0, r.stderr);
  // main, two subtasks, the snapshot worker and the Parquet worker
  assert.ok(r.threads.size >= 5, `the recorder ran in ${r.threads.size} threads`);
  assert.deepEqual(r.loads.filter(({ line }) => UNUSED_PACKAGES.test(line)).map(({ line }) => line), []);
  // The threads that write load Arrow; the coordinator (thread 0) only commits.
  const arrow = r.loads.filter(({ line }) => line.includes('flatbuffers'));
  assert.ok(arrow.some(({ thread }) => thread !== '0'), 'no writing thread loaded Apache Arrow');
  assert.deepEqual(arrow.filter(({ thread }) => thread === '0').map(({ line }) => line), []);
});
