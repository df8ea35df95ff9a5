/**
 * The configuration half of `check`: every setting read by the loaders a run uses (so `check`
 * accepts and refuses exactly what a run would), and the job built with it.
 */
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { kafkaConfigured, loadKafkaConfig, type KafkaConfig } from '../../operators/kafka/kafka-config.js';
import { catalogSetting, type CatalogSetting } from '../../operators/sinks/iceberg/catalog-from-settings.js';
import { icebergTargetOf, type IcebergSinkTarget } from '../../operators/sinks/iceberg/iceberg-sink.js';
import { parseCheckpointUri, type CheckpointLocation } from '../../runtime/checkpoint/checkpoint-store-from-uri.js';
import { haStoreFromConfig } from '../../runtime/ha/ha-store-from-config.js';
import type { Job, JobPlan } from '../../runtime/job.js';
import { silentLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics-registry.js';
import { parseProcessSettings, workDirOf, type ProcessSettings } from '../process-settings.js';
import { describeFailure, fail, pass, skipped, type CheckResult } from './check-result.js';

type Settings = Readonly<Record<string, string | undefined>>;

/** What the settings checks found, for the remote checks that follow. */
export interface CheckedSettings {
  readonly results: readonly CheckResult[];
  readonly process?: ProcessSettings;
  /** Set when KAFKA_BROKERS is set and every Kafka setting is valid. */
  readonly kafka?: KafkaConfig;
  readonly catalog?: CatalogSetting;
  readonly checkpoints?: CheckpointLocation;
  /** The tables the job writes (from its built dataflow). */
  readonly tables: readonly IcebergSinkTarget[];
  /** The input topic as a run reads it (KAFKA_TOPIC, else the job's declared topic). */
  readonly topic?: string;
}

/** Runs every settings check; never throws for bad configuration (each one is a ✗ line). */
export async function checkSettings(job: Job, settings: Settings): Promise<CheckedSettings> {
  const results: CheckResult[] = [];
  const attempt = <T>(item: string, read: () => T, describe: (value: T) => string): T | undefined => {
    try {
      const value = read();
      results.push(pass(item, describe(value)));
      return value;
    } catch (error) {
      results.push(configFailure(item, error));
      return undefined;
    }
  };

  const process = attempt('process settings', () => parseProcessSettings(settings, job), describeProcess);
  const workDir = workDirOf(settings);

  const kafkaWanted = kafkaConfigured({ env: settings });
  const kafka = kafkaWanted
    ? attempt('Kafka settings (KAFKA_*)', () => loadKafkaConfig({ env: settings, jobName: job.name }), describeKafka)
    : (results.push(pass('input', "the job's built-in generator (KAFKA_BROKERS is not set)")), undefined);
  const topic = kafka?.topic ?? job.input?.topic;

  const catalog = attempt('TABLE_BUCKET_ARN', () => catalogSetting(settings, workDir), describeCatalog);
  results.push(checkRegions(settings, catalog, kafka));
  const checkpoints = attempt('CHECKPOINT_URI', () => parseCheckpointUriWithRegion(settings, process?.checkpointUri ?? settings.CHECKPOINT_URI ?? `file://${join(workDir, 'checkpoints')}`), describeCheckpoints);
  attempt('DYNAMODB_TABLE', () => validateHaSettings(settings, workDir), (d) => d);

  let tables: IcebergSinkTarget[] = [];
  if ((kafkaWanted && kafka === undefined) || catalog === undefined) {
    results.push(skipped('job', 'not built: fix the settings above first'));
  } else {
    try {
      const plan = await job.build({ jobName: job.name, settings, workDir, logger: silentLogger(), metrics: new MetricsRegistry() });
      tables = plan.flow.nodesOf('sink').flatMap((node) => icebergTargetOf(node.sink) ?? []);
      results.push(pass('job', `builds: ${describePlan(plan)}`));
      await plan.deadLetters?.close().catch(() => undefined);
    } catch (error) {
      results.push(error instanceof ConfigError ? configFailure('job', error) : fail('job', `does not build: ${describeFailure(error)}`, 'fix the job module (its build function threw)'));
    }
  }
  return { results, ...(process ? { process } : {}), ...(kafka ? { kafka } : {}), ...(catalog ? { catalog } : {}), ...(checkpoints ? { checkpoints } : {}), tables, ...(topic ? { topic } : {}) };
}

/** A ConfigError as a ✗ line named after its setting; anything else as is. */
function configFailure(item: string, error: unknown): CheckResult {
  if (!(error instanceof ConfigError)) return fail(item, describeFailure(error));
  const detail = error.message.replace(/^Invalid configuration [^:]*: /, '');
  return fail(error.setting, detail);
}

function describeProcess(p: ProcessSettings): string {
  return `valid (SCALE_OUT=${p.scaleOut}, PARALLELISM=${p.parallelism}, STATE_BACKEND=${p.stateBackend}, work dir ${p.workDir})`;
}

function describeKafka(c: KafkaConfig): string {
  const auth = c.sasl ? `${c.security}, SASL ${c.sasl.mechanism}` : c.security;
  return `brokers ${c.brokers.join(', ')}; ${auth}; consumer group ${c.groupId}`;
}

function describeCatalog(c: CatalogSetting): string {
  if (c.kind === 'local') return `not set: tables go to the local warehouse ${c.warehouse}`;
  const [, account, name] = /:(\d{12}):bucket\/(.+)$/.exec(c.tableBucketArn) ?? [];
  return `S3 Tables table bucket '${name}' of account ${account} in ${c.region}`;
}

function parseCheckpointUriWithRegion(settings: Settings, uri: string): CheckpointLocation {
  const location = parseCheckpointUri(uri);
  if (location.kind === 's3' && !(settings.AWS_REGION || settings.AWS_DEFAULT_REGION)) throw new ConfigError('AWS_REGION', 'is required for an s3:// CHECKPOINT_URI');
  return location;
}

function describeCheckpoints(l: CheckpointLocation): string {
  return l.kind === 'local' ? `local folder ${l.path}` : `S3 bucket '${l.bucket}'${l.prefix ? `, prefix '${l.prefix}/'` : ''}`;
}

/** The HA store the settings ask for, validated as a run validates it (no request is made). */
function validateHaSettings(settings: Settings, workDir: string): string {
  const store = haStoreFromConfig({ localDir: join(workDir, 'ha'), env: settings });
  void store.close();
  return settings.DYNAMODB_TABLE?.trim() ? `DynamoDB table '${settings.DYNAMODB_TABLE.trim()}' (${store.uri})` : `not set: the local HA store ${store.uri}`;
}

function describePlan(plan: JobPlan): string {
  return plan.flow.graph().map((n) => n.id).join(' → ');
}

/**
 * One region for everything: AWS_REGION, the table bucket's (from its ARN), MSK's (from the
 * broker host names and KAFKA_AWS_REGION). A mismatch makes requests go to the wrong endpoint.
 */
function checkRegions(settings: Settings, catalog: CatalogSetting | undefined, kafka: KafkaConfig | undefined): CheckResult {
  const item = 'region (AWS_REGION)';
  const regions: Array<[string, string]> = [];
  const configured = settings.AWS_REGION || settings.AWS_DEFAULT_REGION;
  if (configured) regions.push(['AWS_REGION', configured]);
  if (catalog?.kind === 's3tables') regions.push(['TABLE_BUCKET_ARN', catalog.region]);
  const mskRegions = new Set((kafka?.brokers ?? []).map((b) => /\.kafka\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?:/.exec(b)?.[1]).filter((r): r is string => r !== undefined));
  for (const region of mskRegions) regions.push(['KAFKA_BROKERS (MSK host names)', region]);
  if (kafka?.sasl?.mechanism === 'aws-msk-iam') regions.push(['KAFKA_AWS_REGION', kafka.sasl.region]);
  if (regions.length === 0) return pass(item, 'no AWS service configured');
  const distinct = new Set(regions.map(([, r]) => r));
  if (distinct.size === 1) return pass(item, `${[...distinct][0]} (${regions.map(([source]) => source).join(', ')})`);
  return fail(item, `the settings name different regions: ${regions.map(([source, r]) => `${source} ${r}`).join(', ')}`, 'use one region for MSK, the table bucket, the checkpoint bucket and DynamoDB, and set AWS_REGION to it');
}
