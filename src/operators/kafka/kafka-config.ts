import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { ConfigError } from '../../errors.js';
import { REMOTE_CALL_SETTINGS, remoteCallSettings, type RemoteCallSettings } from '../../remote/remote-call-settings.js';

/** Where a consumer starts when there is no restored position for a partition. */
export type StartPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'timestamp'; readonly timestamp: number };

/** Kafka's security.protocol names. */
export type SecurityProtocol = 'plaintext' | 'ssl' | 'sasl_plaintext' | 'sasl_ssl';

export type SaslSettings =
  | { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string }
  | { readonly mechanism: 'aws-msk-iam'; readonly region: string };

/** The Kafka client library behind our client interface (KAFKA_CLIENT). */
export type KafkaClientKind = 'kafkajs' | 'platformatic';

/** Every value KAFKA_CLIENT accepts; the first is the default. */
export const KAFKA_CLIENT_KINDS: readonly KafkaClientKind[] = ['kafkajs', 'platformatic'];

/** Validated Kafka settings. Printing it (JSON, util.inspect, pino) never shows the password. */
export interface KafkaConfig {
  /** Which client library talks to the brokers. */
  readonly client: KafkaClientKind;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  /** Overrides the job's declared topic when set. */
  readonly topic: string | undefined;
  readonly startFrom: StartPosition;
  readonly security: SecurityProtocol;
  /** PEM text of a custom CA (read from KAFKA_SSL_CA_FILE). */
  readonly sslCa: string | undefined;
  readonly sasl: SaslSettings | undefined;
  /** Dead-letter topic; `<topic>.dlq` when unset. */
  readonly deadLetterTopic: string | undefined;
  /** A member silent this long leaves the group; its partitions go to the others. */
  readonly sessionTimeoutMs: number;
  /** How long a rebalance waits for every member to rejoin (and for a hand-over before it). */
  readonly rebalanceTimeoutMs: number;
  /**
   * Bounded input (Flink's `setBounded`): `end` stops the job, with a final checkpoint and commit,
   * once every partition is read up to the end offsets it had when the job started. Unbounded when undefined.
   */
  readonly stopAt: 'end' | undefined;
  /** Connection and request timeouts and the retry policy shared with every AWS call (src/remote). */
  readonly calls: RemoteCallSettings;
}

/** One setting: its env var, the equivalent flag, and whether its value is secret. */
export interface KafkaSetting {
  readonly env: string;
  readonly flag: string;
  readonly description: string;
  readonly secret?: boolean;
}

/** Every Kafka setting; flags are the env names in kebab case (`--kafka-brokers`). */
export const KAFKA_SETTINGS: readonly KafkaSetting[] = [
  setting('KAFKA_BROKERS', 'Comma-separated host:port list; when set, jobs read from Kafka.'),
  setting('KAFKA_CLIENT', 'kafkajs | platformatic: the client library (default kafkajs); every instance of a consumer group must use the same.'),
  setting('KAFKA_CLIENT_ID', "Client id (default 'streamline')."),
  setting('KAFKA_GROUP_ID', "Consumer group (default 'streamline.<job>')."),
  setting('KAFKA_TOPIC', "Topic to read (default: the job's declared topic)."),
  setting('KAFKA_START_FROM', 'earliest | latest | ISO-8601 timestamp, when no checkpoint exists (default earliest).'),
  setting('KAFKA_SECURITY', 'plaintext | ssl | sasl_plaintext | sasl_ssl (default plaintext, sasl_ssl with SASL).'),
  setting('KAFKA_SSL_CA_FILE', 'PEM file of a custom CA for TLS.'),
  setting('KAFKA_SASL_MECHANISM', 'plain | scram-sha-256 | scram-sha-512 | aws-msk-iam.'),
  setting('KAFKA_SASL_USERNAME', 'SASL user (plain/scram).'),
  setting('KAFKA_SASL_PASSWORD', 'SASL password (plain/scram); never logged.', true),
  setting('KAFKA_AWS_REGION', 'Region for aws-msk-iam (default AWS_REGION).'),
  setting('KAFKA_DLQ_TOPIC', "Dead-letter topic (default '<topic>.dlq')."),
  setting('KAFKA_SESSION_TIMEOUT_MS', 'A consumer silent this long leaves the group and its partitions move (default 30000).'),
  setting('KAFKA_REBALANCE_TIMEOUT_MS', 'How long a rebalance waits for members to hand their partitions over and rejoin (default 60000).'),
  setting('KAFKA_STOP_AT', "end: read up to the end offsets of the start, then stop with a final checkpoint and commit (a backfill); unset: run until stopped."),
];

function setting(env: string, description: string, secret = false): KafkaSetting {
  return { env, flag: env.toLowerCase().replaceAll('_', '-'), description, secret };
}

/** Where settings come from; flags (keyed without dashes, e.g. 'kafka-brokers') override env. */
export interface KafkaConfigInput {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: Readonly<Record<string, string | undefined>>;
  /** Job name, for the default group id. */
  readonly jobName?: string;
}

/** True when brokers are configured (otherwise jobs run their built-in generator). */
export function kafkaConfigured(input: KafkaConfigInput = {}): boolean {
  return read(input, 'KAFKA_BROKERS') !== undefined;
}

/** Reads and validates the Kafka settings; throws ConfigError naming the first invalid one. */
export function loadKafkaConfig(input: KafkaConfigInput = {}): KafkaConfig {
  const brokers = parseBrokers(require_(input, 'KAFKA_BROKERS'));
  const client = parseClient(read(input, 'KAFKA_CLIENT'));
  const clientId = identifier(input, 'KAFKA_CLIENT_ID') ?? 'streamline';
  const groupId = identifier(input, 'KAFKA_GROUP_ID') ?? (input.jobName ? `streamline.${input.jobName}` : undefined);
  if (groupId === undefined) throw new ConfigError('KAFKA_GROUP_ID', 'required when no job name is known');
  const topic = topicName(input, 'KAFKA_TOPIC');
  const deadLetterTopic = topicName(input, 'KAFKA_DLQ_TOPIC');
  const startFrom = parseStartFrom(read(input, 'KAFKA_START_FROM'));
  const sasl = parseSasl(input);
  const security = parseSecurity(read(input, 'KAFKA_SECURITY'), sasl);
  const sslCa = readCa(read(input, 'KAFKA_SSL_CA_FILE'), security);
  const sessionTimeoutMs = milliseconds(input, 'KAFKA_SESSION_TIMEOUT_MS', 30_000, 1_000);
  const rebalanceTimeoutMs = milliseconds(input, 'KAFKA_REBALANCE_TIMEOUT_MS', 60_000, 1_000);
  const stopAt = parseStopAt(read(input, 'KAFKA_STOP_AT'));
  if (client === 'platformatic' && rebalanceTimeoutMs < sessionTimeoutMs) {
    // @platformatic/kafka refuses such a consumer; say so at start, naming the setting.
    throw new ConfigError('KAFKA_REBALANCE_TIMEOUT_MS', `must be >= KAFKA_SESSION_TIMEOUT_MS (${sessionTimeoutMs}) with KAFKA_CLIENT=platformatic, got ${rebalanceTimeoutMs}`);
  }
  const calls = remoteCallSettings(Object.fromEntries(REMOTE_CALL_SETTINGS.map(([name]) => [name, read(input, name)])));
  const config: KafkaConfig = { client, brokers, clientId, groupId, topic, startFrom, security, sslCa, sasl, deadLetterTopic, sessionTimeoutMs, rebalanceTimeoutMs, stopAt, calls };
  Object.defineProperty(config, 'toJSON', { value: () => redactKafkaConfig(config), enumerable: false });
  Object.defineProperty(config, inspect.custom, { value: () => redactKafkaConfig(config), enumerable: false });
  return Object.freeze(config);
}

/** The config without secrets, for logs. */
export function redactKafkaConfig(config: KafkaConfig): Record<string, unknown> {
  const sasl = config.sasl && 'password' in config.sasl ? { ...config.sasl, password: '[redacted]' } : config.sasl;
  return {
    client: config.client,
    brokers: config.brokers,
    clientId: config.clientId,
    groupId: config.groupId,
    topic: config.topic,
    startFrom: config.startFrom,
    security: config.security,
    sslCa: config.sslCa === undefined ? undefined : '[pem]',
    sasl,
    deadLetterTopic: config.deadLetterTopic,
    sessionTimeoutMs: config.sessionTimeoutMs,
    rebalanceTimeoutMs: config.rebalanceTimeoutMs,
    stopAt: config.stopAt,
    calls: config.calls,
  };
}

function parseClient(raw: string | undefined): KafkaClientKind {
  if (raw === undefined) return KAFKA_CLIENT_KINDS[0]!;
  const kind = KAFKA_CLIENT_KINDS.find((k) => k === raw.toLowerCase());
  if (kind === undefined) throw new ConfigError('KAFKA_CLIENT (--kafka-client)', `must be one of ${KAFKA_CLIENT_KINDS.join(', ')}, got '${raw}'`);
  return kind;
}

function parseStopAt(raw: string | undefined): 'end' | undefined {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'never') return undefined;
  if (value === 'end') return 'end';
  throw new ConfigError('KAFKA_STOP_AT (--kafka-stop-at)', `must be 'end' (stop once the offsets the topic had at start are read) or unset, got '${raw}'`);
}

function milliseconds(input: KafkaConfigInput, env: string, fallback: number, min: number): number {
  const raw = read(input, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(env, `expected a whole number of milliseconds >= ${min}, got '${raw}'`);
  return value;
}

function read(input: KafkaConfigInput, env: string): string | undefined {
  const flag = env.toLowerCase().replaceAll('_', '-');
  const raw = input.flags?.[flag] ?? (input.env ?? process.env)[env];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

function require_(input: KafkaConfigInput, env: string): string {
  const value = read(input, env);
  if (value === undefined) throw new ConfigError(env, 'is required');
  return value;
}

function parseBrokers(raw: string): string[] {
  const brokers = raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS', 'expected a comma-separated host:port list');
  for (const broker of brokers) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(broker);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw new ConfigError('KAFKA_BROKERS', `'${broker}' is not host:port`);
    }
  }
  return brokers;
}

function identifier(input: KafkaConfigInput, env: string): string | undefined {
  const value = read(input, env);
  if (value !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(value)) {
    throw new ConfigError(env, 'may contain only letters, digits, . _ - (at most 249)');
  }
  return value;
}

function topicName(input: KafkaConfigInput, env: string): string | undefined {
  const value = identifier(input, env);
  if (value === '.' || value === '..') throw new ConfigError(env, "'.' and '..' are not topic names");
  return value;
}

function parseStartFrom(raw: string | undefined): StartPosition {
  if (raw === undefined || raw === 'earliest') return { kind: 'earliest' };
  if (raw === 'latest') return { kind: 'latest' };
  // Only full ISO-8601 dates with a time zone, so a typo never silently means "local midnight".
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(raw)) {
    const timestamp = Date.parse(raw);
    if (Number.isFinite(timestamp)) return { kind: 'timestamp', timestamp };
  }
  throw new ConfigError('KAFKA_START_FROM', `expected earliest, latest or an ISO-8601 timestamp, got '${raw}'`);
}

const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'];
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'aws-msk-iam'] as const;

function parseSasl(input: KafkaConfigInput): SaslSettings | undefined {
  const raw = read(input, 'KAFKA_SASL_MECHANISM')?.toLowerCase();
  if (raw === undefined) return undefined;
  const mechanism = MECHANISMS.find((m) => m === raw);
  if (mechanism === undefined) throw new ConfigError('KAFKA_SASL_MECHANISM', `expected one of ${MECHANISMS.join(', ')}, got '${raw}'`);
  if (mechanism === 'aws-msk-iam') {
    const region = read(input, 'KAFKA_AWS_REGION') ?? (input.env ?? process.env).AWS_REGION?.trim();
    if (!region) throw new ConfigError('KAFKA_AWS_REGION', 'required for aws-msk-iam (or set AWS_REGION)');
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new ConfigError('KAFKA_AWS_REGION', `'${region}' is not an AWS region`);
    return { mechanism, region };
  }
  const username = read(input, 'KAFKA_SASL_USERNAME');
  if (username === undefined) throw new ConfigError('KAFKA_SASL_USERNAME', `required for ${mechanism}`);
  // Never echo the value of the password, not even a prefix.
  const password = read(input, 'KAFKA_SASL_PASSWORD');
  if (password === undefined) throw new ConfigError('KAFKA_SASL_PASSWORD', `required for ${mechanism}`);
  return { mechanism, username, password };
}

function parseSecurity(raw: string | undefined, sasl: SaslSettings | undefined): SecurityProtocol {
  const value = raw?.toLowerCase() ?? (sasl ? 'sasl_ssl' : 'plaintext');
  const protocol = SECURITY_PROTOCOLS.find((p) => p === value);
  if (protocol === undefined) throw new ConfigError('KAFKA_SECURITY', `expected one of ${SECURITY_PROTOCOLS.join(', ')}, got '${raw}'`);
  const usesSasl = protocol.startsWith('sasl_');
  if (usesSasl && !sasl) throw new ConfigError('KAFKA_SASL_MECHANISM', `required with KAFKA_SECURITY=${protocol}`);
  if (!usesSasl && sasl) throw new ConfigError('KAFKA_SECURITY', `must be sasl_ssl or sasl_plaintext with KAFKA_SASL_MECHANISM=${sasl.mechanism}`);
  if (sasl?.mechanism === 'aws-msk-iam' && protocol !== 'sasl_ssl') {
    throw new ConfigError('KAFKA_SECURITY', 'aws-msk-iam requires sasl_ssl');
  }
  return protocol;
}

function readCa(file: string | undefined, security: SecurityProtocol): string | undefined {
  if (file === undefined) return undefined;
  if (security !== 'ssl' && security !== 'sasl_ssl') {
    throw new ConfigError('KAFKA_SSL_CA_FILE', `needs KAFKA_SECURITY ssl or sasl_ssl (is ${security})`);
  }
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('KAFKA_SSL_CA_FILE', `cannot read '${file}': ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('KAFKA_SSL_CA_FILE', `'${file}' holds no PEM certificate`);
  return pem;
}
