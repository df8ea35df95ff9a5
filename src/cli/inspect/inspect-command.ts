/**
 * `node dist/run.js inspect <job>`: what the job has produced and where it stands — its table
 * (snapshots with our summary, data files, rows per partition, age of the last commit), its
 * checkpoints, the HA pointer and the lease holder. Read only; nothing is created. Settings are
 * read as a run reads them; every remote call has a deadline.
 */
import { join } from 'node:path';
import { NoSuchTableError } from '../../errors.js';
import { formatIdentifier } from '../../iceberg/catalog.js';
import { catalogSetting } from '../../operators/sinks/iceberg/catalog-from-settings.js';
import { icebergTargetOf } from '../../operators/sinks/iceberg/iceberg-sink.js';
import { checkpointStoreFromUri } from '../../runtime/checkpoint/checkpoint-store-from-uri.js';
import { haStoreFromConfig } from '../../runtime/ha/ha-store-from-config.js';
import type { Job } from '../../runtime/job.js';
import { silentLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics-registry.js';
import type { Clock } from '../../runtime/time/clock.js';
import { describeFailure } from '../check/check-result.js';
import { parseProcessSettings } from '../process-settings.js';
import { boundedDynamoClient, boundedS3Client } from '../remote/aws-clients.js';
import { boundedCatalog } from '../remote/bounded-catalog.js';
import { checkpointReport, haReport } from './checkpoint-report.js';
import { readTableContents } from './table-contents.js';
import { tableReport } from './table-report.js';
import { DEFAULT_RETRY_POLICY } from '../../remote/retry-policy.js';

export interface InspectCommandOptions {
  readonly job: Job;
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly out: (line: string) => void;
}

/** Prints the report; returns 0, or 1 when a part could not be read (its section says why). */
export async function runInspect(options: InspectCommandOptions): Promise<number> {
  const { job, settings, clock, timeoutMs, out } = options;
  const process = parseProcessSettings(settings, job);
  const catalogs = catalogSetting(settings, process.workDir);
  const plan = await job.build({ jobName: job.name, settings, workDir: process.workDir, logger: silentLogger(), metrics: new MetricsRegistry() });
  await plan.deadLetters?.close().catch(() => undefined);
  let unreadable = 0;
  const section = async (title: string, lines: () => Promise<string[]>) => {
    try {
      for (const line of await lines()) out(line);
    } catch (error) {
      unreadable++;
      out(`${title}: cannot be read: ${describeFailure(error)}`);
    }
    out('');
  };

  out(`Job '${job.name}'${catalogs.kind === 'local' ? ` — local warehouse ${catalogs.warehouse}` : ` — table bucket ${catalogs.tableBucketArn}`}`);
  out('');
  const catalog = boundedCatalog(catalogs, settings, timeoutMs);
  for (const target of plan.flow.nodesOf('sink').flatMap((node) => icebergTargetOf(node.sink) ?? [])) {
    await section(`Table ${formatIdentifier(target.table)}`, async () => {
      try {
        return tableReport(target.table, await readTableContents(catalog, target.table, clock, timeoutMs), clock.now());
      } catch (error) {
        if (error instanceof NoSuchTableError) return [`Table ${formatIdentifier(target.table)}`, '  does not exist yet: no run has created it'];
        throw error;
      }
    });
  }

  const s3 = process.checkpointUri.startsWith('s3:') ? { s3Client: boundedS3Client(settings, timeoutMs) } : {};
  const store = checkpointStoreFromUri(process.checkpointUri, { env: settings, ...s3, s3: { retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 } } });
  await section(`Checkpoints in ${store.uri}`, () => checkpointReport(store, job.name, clock, timeoutMs));

  if (process.scaleOut === 'group') {
    out('HA store: not used with SCALE_OUT=group (instances are fenced per partition by the table; their checkpoints are in scopes <job>.<instance>)');
  } else {
    const dynamo = settings.DYNAMODB_TABLE?.trim() ? boundedDynamoClient(settings, timeoutMs) : undefined;
    const ha = haStoreFromConfig({ localDir: join(process.workDir, 'ha'), env: settings, createTable: false, ...(dynamo ? { dynamoClient: dynamo } : {}) });
    await section(`HA store ${ha.uri}`, () => haReport(ha, job.name, store.uri, clock, timeoutMs));
    await ha.close();
    dynamo?.destroy();
  }
  return unreadable === 0 ? 0 : 1;
}
