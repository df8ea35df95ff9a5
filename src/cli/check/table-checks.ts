/**
 * `check` of where the job's tables go: the S3 Tables table bucket answers, the namespace and each
 * table exist (or will be created by the first run), and an existing table's schema takes the
 * job's rows. On the local warehouse: the folder is writable, and the same schema comparison.
 */
import type { S3TablesClient } from '@aws-sdk/client-s3tables';
import { NoSuchTableError } from '../../errors.js';
import { formatIdentifier, type Catalog } from '../../iceberg/catalog.js';
import { schemaIncompatibilities } from '../../iceberg/schema-compatibility.js';
import { currentSchema } from '../../iceberg/table-metadata.js';
import type { CatalogSetting } from '../../operators/sinks/iceberg/catalog-from-settings.js';
import type { IcebergSinkTarget } from '../../operators/sinks/iceberg/iceberg-sink.js';
import type { Clock } from '../../runtime/time/clock.js';
import { boundedS3TablesClient } from '../remote/aws-clients.js';
import { boundedCatalog } from '../remote/bounded-catalog.js';
import { withDeadline } from '../remote/deadline.js';
import { checkLocalFolder } from './checkpoint-checks.js';
import { describeFailure, fail, pass, skipped, type CheckResult } from './check-result.js';
import { awsS3Tables, isS3TablesNotFound } from '../../remote/aws-sdk.js';

export interface TableCheckOptions {
  readonly setting: CatalogSetting;
  readonly tables: readonly IcebergSinkTarget[];
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

const BUCKET = 'table bucket (TABLE_BUCKET_ARN)';
const NAMESPACE = 'namespace (TABLE_NAMESPACE)';

export async function* checkTables(options: TableCheckOptions): AsyncGenerator<CheckResult> {
  const { setting } = options;
  if (setting.kind === 'local') {
    yield await checkLocalFolder('warehouse (WAREHOUSE)', setting.warehouse, 'tables (WAREHOUSE)');
    const catalog = boundedCatalog(setting, options.settings, options.timeoutMs);
    for (const target of options.tables) yield await schemaResult(catalog, target, options);
    return;
  }
  const client = boundedS3TablesClient(options.settings, options.timeoutMs, setting.region);
  try {
    const bucket = await bucketResult(client, setting.tableBucketArn, options);
    yield bucket;
    if (bucket.status !== 'pass') {
      yield skipped(NAMESPACE, 'table bucket not reachable');
      for (const target of options.tables) yield skipped(tableItem(target), 'table bucket not reachable');
      return;
    }
    for (const namespace of new Set(options.tables.map((t) => t.table.namespace))) yield await namespaceResult(client, setting.tableBucketArn, namespace, options);
    for (const target of options.tables) {
      const exists = await tableExists(client, setting.tableBucketArn, target, options);
      if (exists !== true) {
        yield exists === false ? pass(tableItem(target), "does not exist yet: the first run creates it with the job's schema") : exists;
        continue;
      }
      yield await schemaResult(boundedCatalog(setting, options.settings, options.timeoutMs), target, options);
    }
  } finally {
    client.destroy();
  }
}

function tableItem(target: IcebergSinkTarget): string {
  return `table ${formatIdentifier(target.table)}`;
}

async function bucketResult(client: S3TablesClient, arn: string, options: TableCheckOptions): Promise<CheckResult> {
  try {
    const bucket = await withDeadline(options.clock, options.timeoutMs, `GetTableBucket ${arn}`, (abortSignal) => client.send(new (awsS3Tables().GetTableBucketCommand)({ tableBucketARN: arn }), { abortSignal }));
    return pass(BUCKET, `'${bucket.name}' answers`);
  } catch (error) {
    if (isS3TablesNotFound(error)) return fail(BUCKET, `${arn} does not exist`, `create it (aws s3tables create-table-bucket --name <name> --region <region>) or correct TABLE_BUCKET_ARN`);
    return fail(BUCKET, describeFailure(error), 'check the AWS credentials (s3tables:GetTableBucket and the table permissions on the bucket) and the network path to S3 Tables');
  }
}

async function namespaceResult(client: S3TablesClient, arn: string, namespace: string, options: TableCheckOptions): Promise<CheckResult> {
  try {
    await withDeadline(options.clock, options.timeoutMs, `GetNamespace ${namespace}`, (abortSignal) => client.send(new (awsS3Tables().GetNamespaceCommand)({ tableBucketARN: arn, namespace }), { abortSignal }));
    return pass(NAMESPACE, `'${namespace}' exists`);
  } catch (error) {
    if (isS3TablesNotFound(error)) return pass(NAMESPACE, `'${namespace}' does not exist yet: the first run creates it (needs s3tables:CreateNamespace)`);
    return fail(NAMESPACE, describeFailure(error), 'grant s3tables:GetNamespace and s3tables:CreateNamespace on the table bucket');
  }
}

/** True when the table exists, false when it does not, a ✗ when asking failed. */
async function tableExists(client: S3TablesClient, arn: string, target: IcebergSinkTarget, options: TableCheckOptions): Promise<boolean | CheckResult> {
  try {
    const table = await withDeadline(options.clock, options.timeoutMs, `GetTable ${formatIdentifier(target.table)}`, (abortSignal) =>
      client.send(new (awsS3Tables().GetTableCommand)({ tableBucketARN: arn, namespace: target.table.namespace, name: target.table.name }), { abortSignal }),
    );
    return table.metadataLocation !== undefined;
  } catch (error) {
    if (isS3TablesNotFound(error)) return false;
    return fail(tableItem(target), describeFailure(error), 'grant s3tables:GetTable, GetTableMetadataLocation, UpdateTableMetadataLocation, CreateTable and PutTableData/GetTableData on the table bucket');
  }
}

async function schemaResult(catalog: Catalog, target: IcebergSinkTarget, options: TableCheckOptions): Promise<CheckResult> {
  const item = tableItem(target);
  let loaded;
  try {
    loaded = await withDeadline(options.clock, options.timeoutMs, `loading ${formatIdentifier(target.table)}`, () => catalog.loadTable(target.table));
  } catch (error) {
    if (error instanceof NoSuchTableError) return pass(item, `does not exist yet: the first run creates it with the job's schema`);
    return fail(item, `cannot read its metadata: ${describeFailure(error)}`, 'check read access to the table files (s3tables:GetTableData, or the warehouse folder)');
  }
  const problems = schemaIncompatibilities(currentSchema(loaded.metadata), target.schema);
  if (problems.length > 0) {
    return fail(item, `schema does not take the job's rows: ${problems.join('; ')}`, "make the job's table schema match the table (append new columns only, as optional), or write to another table");
  }
  return pass(item, `exists, schema compatible with the job's (${target.schema.fields.length} columns), ${loaded.metadata.snapshots.length} snapshots`);
}
