import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../../../helpers/services.js';

/** One job deployment under test: its Kafka topic and group, work dir and HTTP port. */
export interface Deployment {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly workDir: string;
  readonly warehouse: string;
  readonly checkpoints: string;
}

export function newDeployment(brokers: readonly string[], prefix: string): Deployment {
  const workDir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return {
    brokers,
    topic: uniqueName(`${prefix}-`),
    groupId: uniqueName(`${prefix}-grp-`),
    workDir,
    warehouse: join(workDir, 'warehouse'),
    checkpoints: join(workDir, 'checkpoints'),
  };
}

/**
 * Environment of `run.js` for a deployment: Kafka input, local warehouse/checkpoints/HA under the
 * work dir. Settings that could point the job elsewhere (AWS table bucket, DynamoDB) are removed.
 * `produceOrders` keys the test topics by producer index, not by order id, so an order's
 * redeliveries land in other partitions: the orders job's dedup must exchange records by key
 * (KEYED_EXCHANGE=always) instead of trusting its `sourcePartitioned` declaration.
 */
export function jobEnvironment(d: Deployment): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of ['TABLE_BUCKET_ARN', 'DYNAMODB_TABLE', 'CHECKPOINT_URI', 'WAREHOUSE', 'FROM_CHECKPOINT', 'KAFKA_START_FROM', 'GENERATOR_COUNT', 'GENERATOR_RATE', 'METRICS_PORT']) delete env[name];
  return {
    ...env,
    KAFKA_BROKERS: d.brokers.join(','),
    KAFKA_TOPIC: d.topic,
    KAFKA_GROUP_ID: d.groupId,
    KAFKA_DLQ_TOPIC: `${d.topic}.dlq`,
    STREAMLINE_WORK_DIR: d.workDir,
    LOG_LEVEL: 'info',
    KEYED_EXCHANGE: 'always',
  };
}

/** Flags every run of the tests uses: frequent checkpoints, a short lease so a standby takes over quickly. */
export function jobArgs(port: number, extra: readonly string[] = []): string[] {
  return ['jobs/orders', '--metrics-port', String(port), '--checkpoint-interval-ms', '1000', '--stop-timeout-ms', '30000', ...extra];
}
