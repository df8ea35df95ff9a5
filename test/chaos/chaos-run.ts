/**
 * One seeded chaos run: a fresh 6-partition topic, the orders job run through the CLI with its S3
 * Tables table, S3 checkpoints and DynamoDB lease on moto reached through the fault proxy, a
 * continuous producer of known ids and hostile records, faults on a seeded schedule, then a
 * final drain (KAFKA_STOP_AT=end) and the oracle's verdict.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTableBucketCommand, S3TablesClient } from '@aws-sdk/client-s3tables';
import kafkajs from 'kafkajs';
import { ensureServices, uniqueName } from '../helpers/services.js';
import { ChaosProducer } from './chaos-producer.js';
import { compare, dumpTopic, expectations, tableIds, type Outcome } from './chaos-oracle.js';
import { FaultProxy } from './fault-proxy.js';
import { awaitProgress, faultSchedule, inject, type FaultKind } from './fault-schedule.js';
import { ChaosInput } from './hostile-records.js';
import { JobSupervisor } from './job-supervisor.js';
import { Prng } from './prng.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Faults injected (each kind of `kinds` at least once when there are enough). */
  readonly faults: number;
  readonly kinds: readonly FaultKind[];
  /** Generator indexes per second. */
  readonly rate: number;
  /** Share of hostile records among the generated ones. */
  readonly hostileFraction: number;
  /** Where logs and the report go. */
  readonly outDir?: string;
}

/** The per-run report the issue asks for. */
export interface ChaosReport {
  seed: number;
  pass: boolean;
  seconds: number;
  faults: Record<string, number>;
  faultLog: string[];
  recordsProduced: number;
  producedByKind: Record<string, number>;
  outcome: Outcome;
  restarts: number;
  unexpectedExits: { process: number; exit: unknown; tail: string }[];
  peakRssMb: number;
  restartToCheckpointMs: (number | null)[];
  /** Occurrences of the AWS secret key's value in every job log (must be 0). */
  secretInLogs: number;
  /** Connections the fault proxy accepted: the job's AWS traffic went through it. */
  awsConnectionsThroughProxy: number;
  logDir: string;
}

const PARTITIONS = 6;
const NAMESPACE = 'sink';
// Outages last 2–4 s: the lease must outlive one with its renewal margin (with 5 s, a 3.4 s DynamoDB
// blackhole made the holder refuse to commit and exit 1, LeaseLostError).
const LEASE_TTL_MS = 10_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const endpoints = await ensureServices({ kafka: true, moto: true });
  const outDir = options.outDir ?? mkdtempSync(join(tmpdir(), `chaos-${options.seed}-`));
  mkdirSync(outDir, { recursive: true });
  const brokers = endpoints.kafkaBrokers;
  const topic = uniqueName(`chaos-${options.seed}-`);
  const admin = new kafkajs.Kafka({ clientId: 'chaos-admin', brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();

  const checkpointBucket = uniqueName('chaos-chk-');
  await new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: checkpointBucket }));
  const { arn } = await new S3TablesClient({}).send(new CreateTableBucketCommand({ name: uniqueName('chaos-tb-') }));
  const moto = new URL(endpoints.awsEndpoint);
  const proxy = await FaultProxy.start(`${moto.hostname}:${moto.port}`);
  // A secret only this run knows (moto accepts any): the logs are searched for it at the end.
  const secret = `chaos-secret-${uniqueName('')}`;
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_ENDPOINT_URL_')) delete process.env[name];
  const env: Record<string, string> = {
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName('chaos-grp-'),
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    TABLE_BUCKET_ARN: arn!,
    TABLE_NAMESPACE: NAMESPACE,
    CHECKPOINT_URI: `s3://${checkpointBucket}/checkpoints`,
    DYNAMODB_TABLE: uniqueName('chaos-ha-'),
    AWS_ENDPOINT_URL: proxy.endpoint,
    AWS_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: secret,
    STREAMLINE_WORK_DIR: join(outDir, 'work'),
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    CHECKPOINT_INTERVAL_MS: '1500',
    LEASE_TTL_MS: String(LEASE_TTL_MS),
    REQUEST_TIMEOUT_MS: '3000',
    SOCKET_IDLE_TIMEOUT_MS: '3000',
    STOP_TIMEOUT_MS: '30000',
  };

  const input = new ChaosInput(options.seed, new Prng(options.seed), options.hostileFraction);
  const producer = new ChaosProducer(brokers, topic, input, options.rate);
  const supervisor = new JobSupervisor(env, outDir);
  const faultLog: string[] = [];
  const log = (text: string) => {
    const line = `[seed ${options.seed} +${((performance.now() - started) / 1000).toFixed(1)}s] ${text}`;
    faultLog.push(line);
    if (process.env.CHAOS_VERBOSE) console.error(line);
  };
  const faults: Record<string, number> = {};
  try {
    await producer.start();
    supervisor.start();
    const targets = { supervisor, proxy, producer, leaseTtlMs: LEASE_TTL_MS, log };
    for (const fault of faultSchedule(options.seed, options.kinds, options.faults)) {
      if (!(await awaitProgress(targets, 120_000))) log(`no checkpoint of job#${supervisor.active!.n} within 120 s`);
      await new Promise((resolve) => setTimeout(resolve, fault.pauseMs));
      log(`${fault.kind}: ${await inject(fault, targets)}`);
      faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
    }
    await awaitProgress(targets, 120_000);
    await producer.stop();
    log(`producer stopped after ${producer.stats.records} records`);
    await proxy.set({ kind: 'pass' });
    const stop = await supervisor.stopActive(60_000).catch((e: Error) => ({ error: e.message.split('\n')[0] }));
    log(`active stopped: ${JSON.stringify(stop)}`);
    const drain = await supervisor.drain(300_000).catch((e: Error) => ({ error: e.message.split('\n')[0] }));
    log(`drain run ended: ${JSON.stringify(drain)}`);
  } finally {
    await producer.stop().catch(() => undefined);
    await supervisor.close();
    await proxy.close();
  }

  const inputRecords = await dumpTopic(brokers, topic);
  const dlq = await dumpTopic(brokers, `${topic}.dlq`).catch(() => []);
  const rows = await tableIds(arn!, NAMESPACE, 'orders', endpoints.awsEndpoint);
  const outcome = compare(expectations(inputRecords), rows, dlq, topic);
  const secretInLogs = supervisor.allLogText().split(secret).length - 1;
  const report: ChaosReport = {
    seed: options.seed,
    pass: proxy.accepted > 0 && outcome.missing === 0 && outcome.duplicated === 0 && outcome.deadLettersLost === 0 && supervisor.unexpectedExits.length === 0 && outcome.foreign === 0 && secretInLogs === 0,
    seconds: Math.round((performance.now() - started) / 1000),
    faults,
    faultLog,
    recordsProduced: inputRecords.length,
    producedByKind: producer.stats.byKind,
    outcome,
    restarts: supervisor.restarts,
    unexpectedExits: supervisor.unexpectedExits.map((u) => ({ process: u.process, exit: u.exit, tail: u.tail })),
    peakRssMb: Math.round(Math.max(0, ...supervisor.members.map((m) => m.peakRssKb)) / 1024),
    restartToCheckpointMs: supervisor.restartToCheckpointMs,
    secretInLogs,
    awsConnectionsThroughProxy: proxy.accepted,
    logDir: outDir,
  };
  writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

/** The report as a few readable lines. */
export function formatReport(r: ChaosReport): string {
  const o = r.outcome;
  const rows: [string, string][] = [
    ['seed', `${r.seed} (${r.seconds} s) ${r.pass ? 'PASS' : 'FAIL'}`],
    ['faults injected', Object.entries(r.faults).map(([k, n]) => `${k} ${n}`).join(', ')],
    ['records produced', `${r.recordsProduced} (${Object.entries(r.producedByKind).map(([k, n]) => `${k} ${n}`).join(', ')})`],
    ['valid in table', `${o.validInTable} of ${o.expectedIds} expected ids (${o.rows} rows)`],
    ['missing / duplicated / foreign', `${o.missing} / ${o.duplicated} / ${o.foreign}`],
    ['dead letters expected / found', `${o.deadLettersExpected} / ${o.deadLettersFound} (lost ${o.deadLettersLost}, unexpected ${o.deadLettersUnexpected}, repeats ${o.deadLetterRepeats})`],
    ['restarts / unexpected exits', `${r.restarts} / ${r.unexpectedExits.length}`],
    ['peak RSS', `${r.peakRssMb} MB`],
    ['restart → next checkpoint', r.restartToCheckpointMs.map((ms) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`)).join(', ')],
    ['secret in logs', String(r.secretInLogs)],
    ['AWS connections via the proxy', String(r.awsConnectionsThroughProxy)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(32)} ${v}`).join('\n');
}
