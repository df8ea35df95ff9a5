/**
 * The shared setup of the failover tests: on moto, a checkpoint bucket (S3), an S3 Tables table
 * bucket for the output and a DynamoDB table name for HA; the environment of the `sequence` test
 * job; and the checks on its output table, read back by pyiceberg.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateTableBucketCommand, GetTableCommand, S3TablesClient } from '@aws-sdk/client-s3tables';
import { ensureServices, readIcebergTable, uniqueName, type IcebergReadResult } from '../../helpers/services.js';

const NAMESPACE = 'sink';

/** Resources of one test: every name unique, so tests never see each other's objects. */
export interface FailoverScenario {
  readonly jobName: string;
  readonly checkpointBucket: string;
  readonly checkpointPrefix: string;
  readonly tableBucketArn: string;
  readonly dynamoTable: string;
  readonly workDir: string;
  readonly s3: S3Client;
  /** Environment of a job process of this scenario (AWS_* come from ensureServices). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Removes the local work folder. */
  dispose(): void;
}

/** Creates the buckets (moto) and names; `ha` adds DYNAMODB_TABLE to the job environment. */
export async function createScenario(prefix: string, options: { ha: boolean }): Promise<FailoverScenario> {
  await ensureServices({ moto: true });
  const s3 = new S3Client({ forcePathStyle: true });
  const checkpointBucket = uniqueName(`${prefix}-chk-`);
  await s3.send(new CreateBucketCommand({ Bucket: checkpointBucket }));
  const tables = new S3TablesClient({});
  const { arn } = await tables.send(new CreateTableBucketCommand({ name: uniqueName(`${prefix}-tb-`) }));
  const jobName = uniqueName(`${prefix.replace(/-/g, '_')}_`);
  const dynamoTable = uniqueName(`${prefix}-ha-`);
  const workDir = mkdtempSync(join(tmpdir(), `hae-${prefix}-`));
  const checkpointPrefix = 'checkpoints';
  return {
    jobName,
    checkpointBucket,
    checkpointPrefix,
    tableBucketArn: arn!,
    dynamoTable,
    workDir,
    s3,
    env(extra = {}) {
      return {
        SEQUENCE_JOB_NAME: jobName,
        CHECKPOINT_URI: `s3://${checkpointBucket}/${checkpointPrefix}`,
        TABLE_BUCKET_ARN: arn!,
        TABLE_NAMESPACE: NAMESPACE,
        STREAMLINE_WORK_DIR: workDir,
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        ...(options.ha ? { DYNAMODB_TABLE: dynamoTable } : {}),
        ...extra,
      };
    },
    dispose() {
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Reads the job's output table (current metadata from S3 Tables) with its `id` column. */
export async function readOutput(scenario: FailoverScenario): Promise<IcebergReadResult> {
  const tables = new S3TablesClient({});
  const table = await tables.send(new GetTableCommand({ tableBucketARN: scenario.tableBucketArn, namespace: NAMESPACE, name: scenario.jobName }));
  assert.ok(table.metadataLocation, `table ${NAMESPACE}.${scenario.jobName} has no metadata location`);
  return readIcebergTable(table.metadataLocation, { column: 'id' });
}

/** Asserts that the table holds ids 0..count-1, each exactly once (reporting missing and duplicate ids). */
export function assertExactlyOnce(read: IcebergReadResult, count: number): void {
  const values = (read.column?.values ?? []).map(Number);
  const seen = new Map<number, number>();
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const missing: number[] = [];
  for (let id = 0; id < count; id++) if (!seen.has(id)) missing.push(id);
  const foreign = [...seen.keys()].filter((id) => !(Number.isInteger(id) && id >= 0 && id < count));
  assert.deepEqual(
    { rows: values.length, duplicates: duplicates.length, missing: missing.length, foreign: foreign.length },
    { rows: count, duplicates: 0, missing: 0, foreign: 0 },
    `exactly-once violated: first duplicates ${duplicates.slice(0, 10).join(',')}; first missing ${missing.slice(0, 10).join(',')}; foreign ${foreign.slice(0, 10).join(',')}`,
  );
}

/** Snapshot summaries of the job: checkpoint id and fencing token per snapshot, oldest first. */
export function committedCheckpoints(read: IcebergReadResult): { checkpointId: number; fencingToken: bigint }[] {
  return read.snapshots
    .filter((s) => s.summary['streamline.checkpoint-id'] !== undefined)
    .map((s) => ({ checkpointId: Number(s.summary['streamline.checkpoint-id']), fencingToken: BigInt(s.summary['streamline.fencing-token'] ?? '0') }));
}

/** Checkpoint ids under `<prefix>/<job>/` and which of them have a `_metadata` object. */
export async function listCheckpoints(scenario: FailoverScenario): Promise<{ all: number[]; withMetadata: number[]; keys: string[] }> {
  const prefix = `${scenario.checkpointPrefix}/${scenario.jobName}/`;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await scenario.s3.send(new ListObjectsV2Command({ Bucket: scenario.checkpointBucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  const ids = new Set<number>();
  const withMetadata = new Set<number>();
  for (const key of keys) {
    const match = /^chk-(\d+)\/(.+)$/.exec(key.slice(prefix.length));
    if (!match) continue;
    ids.add(Number(match[1]));
    if (match[2] === '_metadata') withMetadata.add(Number(match[1]));
  }
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return { all: sorted(ids), withMetadata: sorted(withMetadata), keys };
}
