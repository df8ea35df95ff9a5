/**
 * `check` against the Kafka cluster: every bootstrap broker answers on TCP, a client connects and
 * authenticates with the job's settings, the input topic exists (and how many partitions it
 * has), and where dead letters will go. Every step has a deadline.
 */
import { connect } from 'node:net';
import type { KafkaAdminClient } from '../../operators/kafka/kafka-client.js';
import type { KafkaConfig } from '../../operators/kafka/kafka-config.js';
import { deadLetterTopic } from '../../operators/kafka/kafka-dead-letter-sink.js';
import { kafkaJsClient } from '../../operators/kafka/kafkajs-client.js';
import type { Clock } from '../../runtime/time/clock.js';
import { withDeadline } from '../remote/deadline.js';
import { describeFailure, fail, pass, skipped, type CheckResult } from './check-result.js';

export interface KafkaCheckOptions {
  readonly config: KafkaConfig;
  /** The topic a run reads (KAFKA_TOPIC, else the job's). */
  readonly topic: string | undefined;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

const BROKERS = 'Kafka brokers (KAFKA_BROKERS)';
const AUTH = 'Kafka connection (KAFKA_SECURITY, KAFKA_SASL_*)';
const TOPIC = 'Kafka topic (KAFKA_TOPIC)';
const DLQ = 'dead-letter topic (KAFKA_DLQ_TOPIC)';

export async function* checkKafka(options: KafkaCheckOptions): AsyncGenerator<CheckResult> {
  const { config, clock, timeoutMs } = options;
  const reachability = await Promise.all(config.brokers.map((broker) => tcpProbe(broker, clock, timeoutMs)));
  const unreachable = reachability.filter((r) => r.error !== undefined);
  if (unreachable.length > 0) {
    yield fail(
      BROKERS,
      unreachable.map((r) => `${r.broker} ${r.error}`).join('; '),
      "set KAFKA_BROKERS to the cluster's bootstrap brokers (host:port; MSK: 9098 with IAM, 9096 SCRAM, 9094 TLS, 9092 plaintext) and let this host reach them (security groups, VPC)",
    );
  } else {
    yield pass(BROKERS, `${config.brokers.join(', ')} accept connections`);
  }
  if (unreachable.length === config.brokers.length) {
    for (const item of [AUTH, TOPIC, DLQ]) yield skipped(item, 'no broker reachable');
    return;
  }

  const client = kafkaJsClient(config, undefined, { connectionTimeoutMs: Math.min(timeoutMs, 5_000), requestTimeoutMs: timeoutMs, retries: 1 });
  let admin: KafkaAdminClient;
  try {
    admin = await withDeadline(clock, timeoutMs, 'connecting to Kafka', () => client.admin());
    yield pass(AUTH, `connected (${config.sasl ? `${config.security}, SASL ${config.sasl.mechanism}` : config.security})`);
  } catch (error) {
    yield fail(AUTH, describeFailure(error), authFix(config));
    for (const item of [TOPIC, DLQ]) yield skipped(item, 'not connected');
    return;
  }
  try {
    if (options.topic === undefined) {
      yield fail(TOPIC, 'the job declares no input topic', 'set KAFKA_TOPIC');
    } else {
      yield await topicResult(admin, options.topic, options);
      yield await deadLetterResult(admin, deadLetterTopic(config, config.topic ?? options.topic), options);
    }
  } finally {
    await withDeadline(clock, timeoutMs, 'disconnecting from Kafka', () => admin.disconnect()).catch(() => undefined);
  }
}

async function topicResult(admin: KafkaAdminClient, topic: string, options: KafkaCheckOptions): Promise<CheckResult> {
  try {
    const described = await withDeadline(options.clock, options.timeoutMs, `describing topic '${topic}'`, () => admin.describeTopic(topic));
    if (described === undefined) {
      return fail(TOPIC, `'${topic}' does not exist`, `create it (e.g. kafka-topics.sh --create --topic ${topic} --partitions <n>), or set KAFKA_TOPIC to the topic the producers write`);
    }
    return pass(TOPIC, `'${topic}' exists with ${described.partitions} partition${described.partitions === 1 ? '' : 's'}`);
  } catch (error) {
    return fail(TOPIC, `cannot describe '${topic}': ${describeFailure(error)}`, 'grant the client kafka-cluster:DescribeTopic (MSK IAM) or the Describe ACL on the topic');
  }
}

async function deadLetterResult(admin: KafkaAdminClient, topic: string, options: KafkaCheckOptions): Promise<CheckResult> {
  try {
    const described = await withDeadline(options.clock, options.timeoutMs, `describing topic '${topic}'`, () => admin.describeTopic(topic));
    return pass(DLQ, described === undefined ? `'${topic}' does not exist yet: the first dead letter creates it (needs permission to create topics)` : `'${topic}' exists`);
  } catch (error) {
    return fail(DLQ, `cannot describe '${topic}': ${describeFailure(error)}`, 'grant the client permission to describe, create and write the dead-letter topic');
  }
}

function authFix(config: KafkaConfig): string {
  if (config.sasl?.mechanism === 'aws-msk-iam') return "check the AWS credentials this process gets and that their role allows kafka-cluster:Connect on the cluster; MSK's IAM listener is port 9098 with KAFKA_SECURITY=sasl_ssl";
  if (config.sasl) return 'check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD, and KAFKA_SECURITY (sasl_ssl for TLS listeners)';
  return 'check KAFKA_SECURITY (ssl/sasl_ssl for TLS listeners, with KAFKA_SSL_CA_FILE for a private CA) and the listener port';
}

interface TcpProbe {
  readonly broker: string;
  readonly error?: string;
}

/** Opens and closes a TCP connection to `host:port` within the deadline. */
function tcpProbe(broker: string, clock: Clock, timeoutMs: number): Promise<TcpProbe> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(broker);
  if (match === null) return Promise.resolve({ broker, error: 'is not host:port' });
  return new Promise((resolve) => {
    const socket = connect({ host: match[1]!, port: Number(match[2]) });
    const done = (error?: string) => {
      timer.cancel();
      socket.destroy();
      resolve(error === undefined ? { broker } : { broker, error });
    };
    const timer = clock.setTimeout(() => done(`did not answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused the connection (ECONNREFUSED)' : error.code === 'ENOTFOUND' ? 'is not a known host name (ENOTFOUND)' : describeFailure(error)));
  });
}
