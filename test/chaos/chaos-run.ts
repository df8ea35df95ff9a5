/**
 * One seeded chaos run: a fresh 6-partition topic, the orders job run through the CLI with its S3
 * Tables table, S3 checkpoints and DynamoDB lease on moto reached through the fault proxy (in
 * group mode: two instances sharing the partitions, no lease), a continuous producer of known ids
 * and hostile records, faults on a seeded schedule, then a final drain (KAFKA_STOP_AT=end; a group
 * runs until the table holds every partition to its end) and the oracle's verdict.
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
import { BrokerControl } from './broker-control.js';
import { excusedByBrokerOutage } from './broker-outage-exits.js';
import { awaitGroupCaughtUp } from './consumer-progress.js';
import { StallWatch } from './stall-watch.js';
import { awaitCommittedToEnd } from './group-drain.js';
import { GroupSupervisor } from './group-supervisor.js';
import { ChaosInput } from './hostile-records.js';
import { JobSupervisor, type Supervision } from './job-supervisor.js';
import { checkLedger, type LedgerCheck } from './producer-ledger.js';
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
  /** `single` (default): one active process, restarted, with standbys; `group`: SCALE_OUT=group with GROUP_SIZE instances. */
  readonly mode?: 'single' | 'group';
  /** Fail the run when the job stops reading for 60 s (stall-watch.ts); the full run sets it, the short form not (it stays as it was). */
  readonly watchStalls?: boolean;
}

/** The per-run report the issue asks for. */
export interface ChaosReport {
  seed: number;
  mode: 'single' | 'group';
  pass: boolean;
  seconds: number;
  faults: Record<string, number>;
  faultLog: string[];
  recordsProduced: number;
  producedByKind: Record<string, number>;
  outcome: Outcome;
  /** The topic checked against what the broker confirmed to the producer. */
  producerLedger: LedgerCheck;
  /** Longest a producer batch waited for the broker's confirmation, ms. */
  producerLongestUnconfirmedMs: number;
  /** Each broker crash: from SIGKILL to answering again, ms. */
  brokerDownMs: number[];
  /** Faults after which the job did not read again in time. */
  stalls: string[];
  restarts: number;
  unexpectedExits: { process: number; exit: unknown; tail: string }[];
  /** Exits after a broker outage longer than RETRY_DEADLINE_MS that named Kafka (broker-outage-exits.ts). */
  excusedExits: { process: number; exit: unknown; tail: string }[];
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
/** The job's retry deadline for every AWS and Kafka call (set explicitly: the broker-outage rule depends on it). */
const RETRY_DEADLINE_MS = 30_000;
const GROUP_SIZE = 2;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const mode = options.mode ?? 'single';
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
    // Group mode uses no lease (the table fences); standby mode keeps it in DynamoDB.
    ...(mode === 'single' ? { DYNAMODB_TABLE: uniqueName('chaos-ha-') } : { KAFKA_REBALANCE_TIMEOUT_MS: '20000' }),
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
    RETRY_DEADLINE_MS: String(RETRY_DEADLINE_MS),
    SOCKET_IDLE_TIMEOUT_MS: '3000',
    STOP_TIMEOUT_MS: '30000',
  };

  const input = new ChaosInput(options.seed, new Prng(options.seed), options.hostileFraction);
  const producer = new ChaosProducer(brokers, topic, input, options.rate);
  const broker = options.kinds.includes('broker-restart') ? new BrokerControl() : undefined;
  if (broker !== undefined) broker.pid(); // fails now, not mid-run, when the broker is not ours to restart
  const excuse = (exitAt: number, clean: boolean, tail: string) => excusedByBrokerOutage(broker?.outages ?? [], RETRY_DEADLINE_MS, exitAt, clean, tail);
  const single = mode === 'single' ? new JobSupervisor(env, outDir, excuse) : undefined;
  const group = mode === 'group' ? new GroupSupervisor(env, outDir, join(outDir, 'work'), excuse) : undefined;
  const supervisor: Supervision = (single ?? group)!;
  const faultLog: string[] = [];
  const log = (text: string) => {
    const line = `[seed ${options.seed} +${((performance.now() - started) / 1000).toFixed(1)}s] ${text}`;
    faultLog.push(line);
    if (process.env.CHAOS_VERBOSE) console.error(line);
  };
  const faults: Record<string, number> = {};
  const stalls: string[] = [];
  const watch = new StallWatch(brokers, env.KAFKA_GROUP_ID!, topic, () => `+${((performance.now() - started) / 1000).toFixed(1)}s`);
  try {
    await producer.start();
    if (options.watchStalls) await watch.start();
    if (single !== undefined) single.start();
    else group!.start(GROUP_SIZE);
    const catchUp = (timeoutMs: number) => awaitGroupCaughtUp(brokers, env.KAFKA_GROUP_ID!, topic, timeoutMs);
    const targets = { supervisor, group, broker, proxy, producer, leaseTtlMs: LEASE_TTL_MS, log, catchUp, stalls };
    for (const fault of faultSchedule(options.seed, options.kinds, options.faults)) {
      if (!(await awaitProgress(targets, 120_000))) log(`no checkpoint of job#${supervisor.active!.n} within 120 s`);
      await new Promise((resolve) => setTimeout(resolve, fault.pauseMs));
      log(`${fault.kind}: ${await inject(fault, targets)}`);
      faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
    }
    await awaitProgress(targets, 120_000);
    await watch.stop();
    for (const stall of watch.stalls) log(`STALL ${stall}`);
    stalls.push(...watch.stalls);
    await producer.stop();
    log(`producer stopped after ${producer.stats.records} records`);
    await proxy.set({ kind: 'pass' });
    if (single !== undefined) {
      const stop = await single.stopActive(60_000).catch((e: Error) => ({ error: e.message.split('\n')[0] }));
      log(`active stopped: ${JSON.stringify(stop)}`);
      const drain = await single.drain(300_000).catch((e: Error) => ({ error: e.message.split('\n')[0] }));
      log(`drain run ended: ${JSON.stringify(drain)}`);
    } else {
      const behind = await awaitCommittedToEnd(brokers, topic, arn!, 300_000);
      log(behind.length === 0 ? 'the table holds every partition to its end' : `still behind after 300 s: ${behind.join(', ')}`);
      const stops = await group!.stopAll(60_000).catch((e: Error) => ({ error: e.message.split('\n')[0] }));
      log(`group stopped: ${JSON.stringify(stops)}`);
    }
  } finally {
    await producer.stop().catch(() => undefined);
    await watch.stop();
    await supervisor.close();
    await proxy.close();
    // The broker is shared: up again whatever happened.
    await broker?.ensureUp();
  }

  const inputRecords = await dumpTopic(brokers, topic);
  const dlq = await dumpTopic(brokers, `${topic}.dlq`).catch(() => []);
  const rows = await tableIds(arn!, NAMESPACE, 'orders', endpoints.awsEndpoint);
  const outcome = compare(expectations(inputRecords), rows, dlq, topic);
  const ledger = checkLedger(producer.confirmedKeys, inputRecords);
  const secretInLogs = supervisor.allLogText().split(secret).length - 1;
  const report: ChaosReport = {
    seed: options.seed,
    mode,
    pass:
      proxy.accepted > 0 &&
      outcome.missing === 0 &&
      outcome.duplicated === 0 &&
      outcome.deadLettersLost === 0 &&
      supervisor.unexpectedExits.length === 0 &&
      outcome.foreign === 0 &&
      secretInLogs === 0 &&
      ledger.lost === 0 &&
      ledger.reordered === 0 &&
      stalls.length === 0,
    seconds: Math.round((performance.now() - started) / 1000),
    faults,
    faultLog,
    recordsProduced: inputRecords.length,
    producedByKind: producer.stats.byKind,
    outcome,
    producerLedger: ledger,
    producerLongestUnconfirmedMs: producer.stats.longestUnconfirmedMs,
    brokerDownMs: (broker?.outages ?? []).map((o) => Math.round((o.readyAt ?? NaN) - o.killedAt)),
    stalls,
    restarts: supervisor.restarts,
    unexpectedExits: supervisor.unexpectedExits.map((u) => ({ process: u.process, exit: u.exit, tail: u.tail })),
    excusedExits: supervisor.excusedExits.map((u) => ({ process: u.process, exit: u.exit, tail: u.tail })),
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
    ['seed', `${r.seed}, ${r.mode} (${r.seconds} s) ${r.pass ? 'PASS' : 'FAIL'}`],
    ['faults injected', Object.entries(r.faults).map(([k, n]) => `${k} ${n}`).join(', ')],
    ['records produced', `${r.recordsProduced} (${Object.entries(r.producedByKind).map(([k, n]) => `${k} ${n}`).join(', ')})`],
    [
      'producer confirmed / lost / reordered',
      `${r.producerLedger.confirmed} / ${r.producerLedger.lost} / ${r.producerLedger.reordered} (in topic unconfirmed ${r.producerLedger.unconfirmedInTopic}; longest wait for a confirmation ${(r.producerLongestUnconfirmedMs / 1000).toFixed(1)} s)`,
    ],
    ['broker down (SIGKILL → ready)', r.brokerDownMs.length === 0 ? '—' : r.brokerDownMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')],
    ['stalls (no reading after a fault)', r.stalls.length === 0 ? '0' : `${r.stalls.length}: ${r.stalls.join('; ')}`],
    ['valid in table', `${o.validInTable} of ${o.expectedIds} expected ids (${o.rows} rows)`],
    ['missing / duplicated / foreign', `${o.missing} / ${o.duplicated} / ${o.foreign}`],
    ['dead letters expected / found', `${o.deadLettersExpected} / ${o.deadLettersFound} (lost ${o.deadLettersLost}, unexpected ${o.deadLettersUnexpected}, repeats ${o.deadLetterRepeats})`],
    ['restarts / unexpected exits', `${r.restarts} / ${r.unexpectedExits.length} (excused by a broker outage: ${r.excusedExits.length})`],
    ['peak RSS', `${r.peakRssMb} MB`],
    ['restart → next checkpoint', r.restartToCheckpointMs.map((ms) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`)).join(', ')],
    ['secret in logs', String(r.secretInLogs)],
    ['AWS connections via the proxy', String(r.awsConnectionsThroughProxy)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(32)} ${v}`).join('\n');
}
