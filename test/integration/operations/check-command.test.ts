/**
 * `run.js check <job>` against the real broker and moto: a production-like configuration passes
 * item by item; a regular S3 bucket ARN, an unreachable broker and a missing checkpoint bucket
 * each fail on a line that names the setting, within the probes' deadlines; a table whose schema
 * does not take the job's rows is named column by column.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3TablesCatalog } from '../../../src/iceberg/s3-tables-catalog.js';
import { required, tableSchema } from '../../../src/iceberg/schema-builder.js';
import { ordersTable } from '../../../src/jobs/orders.js';
import { DynamoDbHaStore } from '../../../src/runtime/ha/dynamodb-ha-store.js';
import { ensureServices, uniqueName, type ServiceEndpoints } from '../../helpers/services.js';
import { createBuckets } from '../jobs/support/job-e2e.js';
import { createTopic, freePort } from './support/job-harness.js';
import { checkLine, motoEnv, runCli } from './support/operator-cli.js';

let endpoints: ServiceEndpoints;
let env: Record<string, string>;
let tableBucketArn: string;
const workDir = mkdtempSync(join(tmpdir(), 'check-'));

before(async () => {
  endpoints = await ensureServices({ kafka: true, moto: true });
  const buckets = await createBuckets();
  tableBucketArn = buckets.tableBucketArn;
  const topic = uniqueName('check-orders-');
  await createTopic(endpoints.kafkaBrokers, topic, 3);
  env = {
    ...motoEnv(endpoints),
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_TOPIC: topic,
    TABLE_BUCKET_ARN: buckets.tableBucketArn,
    TABLE_NAMESPACE: uniqueName('check_ns_').replaceAll('-', '_'),
    CHECKPOINT_URI: buckets.checkpointUri,
    DYNAMODB_TABLE: uniqueName('check-ha-'),
    STREAMLINE_WORK_DIR: workDir,
    PROBE_TIMEOUT_MS: '5000',
  };
  await new DynamoDbHaStore({ client: new DynamoDBClient({ region: endpoints.region }), tableName: env.DYNAMODB_TABLE! }).ensureTable();
});
after(() => rmSync(workDir, { recursive: true, force: true }));

test('a production-like configuration on the broker and moto passes every item; exit 0', { timeout: 120_000 }, async () => {
  // A missing HA table would pass too (the first run creates it): this one exists, so the probe item runs.
  const r = await runCli(['check', 'jobs/orders'], env);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /^✗/m);
  assert.match(checkLine(r.stdout, 'Kafka brokers (KAFKA_BROKERS)') ?? '', /^✓ .*accept connections/);
  assert.match(checkLine(r.stdout, 'Kafka topic (KAFKA_TOPIC)') ?? '', new RegExp(`^✓ Kafka topic \\(KAFKA_TOPIC\\): '${env.KAFKA_TOPIC}' exists with 3 partitions`));
  assert.match(checkLine(r.stdout, 'checkpoints (CHECKPOINT_URI)') ?? '', /^✓ .*writable \(probe object written, read back, listed, deleted\)/);
  assert.match(checkLine(r.stdout, 'table bucket (TABLE_BUCKET_ARN)') ?? '', /^✓ .*answers/);
  assert.match(checkLine(r.stdout, `table ${env.TABLE_NAMESPACE}.orders`) ?? '', /^✓ .*does not exist yet/);
  assert.match(checkLine(r.stdout, 'HA store (DYNAMODB_TABLE)') ?? '', /^✓ .*ACTIVE with keys pk\/sk; a probe item was written, read and deleted/);
  assert.match(checkLine(r.stdout, 'HA pointer') ?? '', /^✓ HA pointer: no checkpoint published yet for s3:\/\//);
  assert.match(r.stdout, /^All \d+ checks passed\.$/m);
});

test("an existing table: compatible with the job's schema passes, an incompatible one fails naming the columns", { timeout: 120_000 }, async () => {
  const catalog = new S3TablesCatalog({ tableBucketArn, clientConfig: { region: endpoints.region } });
  const compatible = uniqueName('check_ok_').replaceAll('-', '_');
  await catalog.ensureTable({ namespace: compatible, name: 'orders' }, { schema: ordersTable });
  const ok = await runCli(['check', 'jobs/orders'], { ...env, TABLE_NAMESPACE: compatible });
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(checkLine(ok.stdout, `table ${compatible}.orders`) ?? '', /^✓ .*exists, schema compatible with the job's \(7 columns\)/);

  const other = uniqueName('check_bad_').replaceAll('-', '_');
  await catalog.ensureTable({ namespace: other, name: 'orders' }, { schema: tableSchema({ order_id: required('long'), region: required('string') }) });
  const bad = await runCli(['check', 'jobs/orders'], { ...env, TABLE_NAMESPACE: other });
  assert.equal(bad.code, 1, bad.stdout);
  const line = checkLine(bad.stdout, `table ${other}.orders`) ?? '';
  assert.match(line, /^✗ .*column 'order_id' is long in the table, the job writes string/);
  assert.match(line, /required column 'region' of the table is not written by the job/);
});

test('a regular S3 bucket ARN as TABLE_BUCKET_ARN fails naming the setting and explaining the difference', { timeout: 60_000 }, async () => {
  const r = await runCli(['check', 'jobs/orders'], { ...env, TABLE_BUCKET_ARN: 'arn:aws:s3:::testing-python-flink-connector' });
  assert.equal(r.code, 1, r.stdout);
  assert.match(checkLine(r.stdout, 'TABLE_BUCKET_ARN (--table-bucket-arn)') ?? '', /^✗ .*is a regular S3 bucket ARN.*arn:aws:s3tables:<region>:<account>:bucket\/<name>.*CHECKPOINT_URI/);
  assert.match(r.stdout, /^\d+ of \d+ checks failed\.$/m);
});

test('an unreachable broker fails naming KAFKA_BROKERS, quickly', { timeout: 60_000 }, async () => {
  const closed = await freePort(); // nothing listens there any more
  const r = await runCli(['check', 'jobs/orders'], { ...env, KAFKA_BROKERS: `127.0.0.1:${closed}` });
  assert.equal(r.code, 1, r.stdout);
  assert.match(checkLine(r.stdout, 'Kafka brokers (KAFKA_BROKERS)') ?? '', new RegExp(`^✗ .*127\\.0\\.0\\.1:${closed} refused the connection`));
  assert.match(r.stdout, /fix: set KAFKA_BROKERS/);
  assert.match(checkLine(r.stdout, 'Kafka topic (KAFKA_TOPIC)') ?? '', /^– .*no broker reachable/);
  assert.ok(r.ms < 30_000, `took ${Math.round(r.ms)} ms`);
});

test('a missing checkpoint bucket fails naming CHECKPOINT_URI and how to fix it', { timeout: 60_000 }, async () => {
  const bucket = uniqueName('no-such-ckpt-');
  const r = await runCli(['check', 'jobs/orders'], { ...env, CHECKPOINT_URI: `s3://${bucket}/checkpoints` });
  assert.equal(r.code, 1, r.stdout);
  assert.match(checkLine(r.stdout, 'checkpoints (CHECKPOINT_URI)') ?? '', new RegExp(`^✗ .*s3://${bucket}: NoSuchBucket`));
  assert.match(r.stdout, new RegExp(`fix: create the bucket \\(aws s3 mb s3://${bucket}\\) or correct CHECKPOINT_URI`));
});
