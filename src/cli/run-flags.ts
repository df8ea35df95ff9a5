import { KAFKA_SETTINGS } from '../operators/kafka/kafka-config.js';
import { UsageError } from '../errors.js';
import { MAINTENANCE_FLAGS } from './maintenance-flags.js';
import { REMOTE_CALL_SETTINGS } from '../remote/remote-call-settings.js';
import type { RunFlag } from './run-flag.js';

/** Every setting of `run.js`, as flags and environment variables. */
export const RUN_FLAGS: readonly RunFlag[] = [
  ...KAFKA_SETTINGS.map((k) => ({ flag: k.flag, env: k.env, help: k.description, ...(k.secret ? { secret: true } : {}) })),
  { flag: 'table-bucket-arn', env: 'TABLE_BUCKET_ARN', help: 'S3 Tables table bucket ARN (arn:aws:s3tables:<region>:<account>:bucket/<name>). When unset, a local warehouse.' },
  { flag: 'namespace', env: 'TABLE_NAMESPACE', help: 'Iceberg namespace.', default: 'sink' },
  { flag: 'warehouse', env: 'WAREHOUSE', help: 'Local warehouse folder when no table bucket is set.', default: '<work dir>/warehouse' },
  { flag: 'target-file-size-bytes', env: 'TARGET_FILE_SIZE_BYTES', help: 'Roll Parquet data files at about this size.', default: '134217728' },
  { flag: 'write-buffer-bytes', env: 'WRITE_BUFFER_BYTES', help: 'Memory budget of rows buffered for Parquet data files, over all open files (independent of the file size).', default: '67108864' },
  { flag: 'parquet-workers', env: 'PARQUET_WORKERS', help: 'Worker threads encoding and uploading Parquet data files.', default: 'cores - 1, 1 to 4' },
  { flag: 'checkpoint-uri', env: 'CHECKPOINT_URI', help: 'Checkpoint location: s3://bucket/prefix or file:///path.', default: 'file://<work dir>/checkpoints' },
  { flag: 'checkpoint-interval-ms', env: 'CHECKPOINT_INTERVAL_MS', help: 'Time between checkpoints (overrides the job).' },
  { flag: 'checkpoint-retain', env: 'CHECKPOINT_RETAIN', help: 'Completed checkpoints to keep (overrides the job).' },
  { flag: 'checkpoint-tolerable-failures', env: 'CHECKPOINT_TOLERABLE_FAILURES', help: 'Checkpoints that may fail in a row (e.g. during an S3 outage) before the job fails (overrides the job).', default: 'unlimited' },
  { flag: 'from-checkpoint', env: 'FROM_CHECKPOINT', help: 'Restore from: latest, none, or a checkpoint id.', default: 'latest' },
  { flag: 'parallelism', env: 'PARALLELISM', help: 'Subtasks (worker threads) sharing the source splits of this process; auto is one per core. Jobs with several sources or operator state of no split run in one thread.', default: 'auto' },
  { flag: 'keyed-exchange', env: 'KEYED_EXCHANGE', help: "declared: a keyBy declared sourcePartitioned (the topic is keyed by its key) keeps each key in the subtask reading its partition. always: every keyBy sends records to the subtask owning the key, for a topic not keyed that way.", default: 'declared' },
  { flag: 'subtask-heap-mb', env: 'SUBTASK_HEAP_MB', help: "V8 heap limit of each subtask thread in MiB (young + old generation): V8 collects garbage before the heap grows past it; a subtask whose live data outgrows it fails with an error naming this setting. auto is V8's default limit.", default: 'auto' },
  { flag: 'state-backend', env: 'STATE_BACKEND', help: "Where keyed state lives: heap (memory, fastest) or disk (LevelDB under the work dir, for state larger than memory). Overrides the job's choice.", default: 'heap' },
  { flag: 'state-dir', env: 'STATE_DIR', help: 'Working copies of disk-backed keyed state (deleted when the job stops; checkpoints hold the state).', default: '<work dir>/state' },
  {
    flag: 'scale-out',
    env: 'SCALE_OUT',
    help: "standby: one instance per job is active (it holds the lease), others wait to take over. group: every instance is active; they share the Kafka topic's partitions through the consumer group and each partition's state moves with it (keyBy keys must follow the topic's partitioning).",
    default: 'standby',
  },
  { flag: 'dynamodb-table', env: 'DYNAMODB_TABLE', help: 'DynamoDB table for high availability (lease + checkpoint pointer). When unset, a local file store.' },
  { flag: 'lease-ttl-ms', env: 'LEASE_TTL_MS', help: 'Lease timeout: a standby takes over this long after the active instance stops renewing.', default: '15000' },
  { flag: 'aws-region', env: 'AWS_REGION', help: 'AWS region for S3, S3 Tables and DynamoDB.' },
  { flag: 'metrics-port', env: 'METRICS_PORT', help: 'Port of the web console (/), /metrics, /healthz and /readyz (0 = off).', default: '9249' },
  { flag: 'kafka-dlq-max-batch-bytes', env: 'KAFKA_DLQ_MAX_BATCH_BYTES', help: "Largest batch of dead letters produced at once, at most the dead-letter topic's max.message.bytes; a larger dead letter is truncated (origin kept).", default: '1000000' },
  ...REMOTE_CALL_SETTINGS.map(([env, help]) => ({ flag: env.toLowerCase().replaceAll('_', '-'), env, help })),
  { flag: 'ready-max-checkpoint-age-ms', env: 'READY_MAX_CHECKPOINT_AGE_MS', help: '/readyz answers 503 when the running job completed no checkpoint for longer than this (0 = off).', default: '0' },
  { flag: 'stop-timeout-ms', env: 'STOP_TIMEOUT_MS', help: 'On SIGTERM/SIGINT, how long the final checkpoint may take before exiting non-zero.', default: '60000' },
  { flag: 'event-loop-delay-warn-ms', env: 'EVENT_LOOP_DELAY_WARN_MS', help: 'Log a warning when the 99th percentile event-loop delay of a second exceeds this.', default: '200' },
  { flag: 'work-dir', env: 'STREAMLINE_WORK_DIR', help: 'Folder for local state of the embedded default.', default: './.streamline' },
  { flag: 'generator-count', env: 'GENERATOR_COUNT', help: 'Embedded default: records to generate (unbounded when unset).' },
  { flag: 'generator-rate', env: 'GENERATOR_RATE', help: 'Embedded default: records per second (flat out when unset).' },
  { flag: 'log-level', env: 'LOG_LEVEL', help: 'trace, debug, info, warn or error.', default: 'info' },
  { flag: 'log-format', env: 'LOG_FORMAT', help: 'json (one object per line) or pretty (lines for people).', default: 'pretty when stderr is a terminal, else json' },
  {
    flag: 'status-interval-ms',
    env: 'STATUS_INTERVAL_MS',
    help: 'How often a status line (records/s, lag, last checkpoint, rows committed, dead letters) is logged; on a terminal it is shown in place, updated every second. 0 = off.',
    default: '10000',
  },
  ...MAINTENANCE_FLAGS,
  { flag: 'probe-timeout-ms', env: 'PROBE_TIMEOUT_MS', help: 'check and inspect: deadline of each remote call (Kafka, S3, S3 Tables, DynamoDB).', default: '10000' },
];

export interface ParsedRunArgs {
  readonly help: boolean;
  readonly jobPath: string | undefined;
  /** Environment merged with flags; flags win. */
  readonly settings: Record<string, string | undefined>;
}

export function parseRunArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedRunArgs {
  const settings: Record<string, string | undefined> = { ...env };
  let jobPath: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const flag = RUN_FLAGS.find((f) => f.flag === name);
      if (flag === undefined) throw new UsageError(`Unknown flag --${name}. Run with --help to list the flags.`);
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`Flag --${name} needs a value.`);
      settings[flag.env] = value;
      continue;
    }
    if (jobPath !== undefined) throw new UsageError(`Only one job per process (got '${jobPath}' and '${arg}').`);
    jobPath = arg;
  }
  return { help, jobPath, settings };
}

export function runUsage(jobs: readonly string[]): string {
  const width = Math.max(...RUN_FLAGS.map((f) => f.flag.length)) + 4;
  const lines = RUN_FLAGS.map((f) => `  --${f.flag.padEnd(width)}${f.help}${f.default ? ` [default: ${f.default}]` : ''}\n  ${' '.repeat(width + 2)}env: ${f.env}`);
  return [
    'Usage: node dist/run.js <job> [flags]            run the job',
    '       node dist/run.js check <job> [flags]      preflight: settings, Kafka, checkpoints, tables, HA store; one line per item, exit 0 only when all pass',
    '       node dist/run.js inspect <job> [flags]    the job\'s table (snapshots, files, rows), checkpoints, HA pointer and lease',
    '',
    `Jobs: ${jobs.join(', ') || '(none built)'} — or a path to a compiled job module (.js, or .mjs outside any package).`,
    'Every flag can also be given as the environment variable shown; flags win.',
    '',
    'Flags:',
    '  --help, -h',
    ...lines,
    '',
    'Signals: SIGTERM/SIGINT stop gracefully with a final checkpoint; a second signal exits at once.',
  ].join('\n');
}
