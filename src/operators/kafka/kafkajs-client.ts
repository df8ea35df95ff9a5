import type { Admin, Consumer, Kafka, KafkaConfig as KafkaJsConfig, LogEntry, SASLOptions } from 'kafkajs';
import type { Logger } from '../../runtime/logger.js';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  KafkaAdminClient,
  KafkaClient,
  KafkaConsumerClient,
  KafkaProducerClient,
  PartitionBounds,
  ProducedMessage,
  TopicPartition,
  TopicPartitionOffset,
} from './kafka-client.js';
import type { KafkaConfig } from './kafka-config.js';
import { registerRejoinHook } from './kafkajs-rejoin-hook.js';
import { mskIamToken } from './msk-iam-token.js';
import { kafkaJsRetry } from './kafkajs-retry.js';
import { lazyPackage } from '../../runtime/lazy-package.js';

/** kafkajs, loaded with the first client (runtime/lazy-package.ts): a run that uses no Kafka never loads it. */
const kafkajs = lazyPackage<typeof import('kafkajs')>('kafkajs');

/** Connection limits of a client; kafkajs' defaults (1 s connect, 30 s requests, 5 retries) when absent. */
export interface KafkaJsClientOptions {
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retries?: number;
}

/** Our client interface over kafkajs. */
export function kafkaJsClient(config: KafkaConfig, logger?: Logger, options: KafkaJsClientOptions = {}): KafkaClient {
  const kafka = new (kafkajs().Kafka)({
    ...toKafkaJsConfig(config, logger),
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeout: options.connectionTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    ...(options.retries === undefined ? {} : { retry: { retries: options.retries } }),
  });
  return {
    kind: 'kafkajs',
    consumer: (options) => new KafkaJsConsumer(kafka, options, logger),
    producer: (options) => new KafkaJsProducer(kafka, options?.idempotent ?? false),
    admin: async () => {
      const admin = kafka.admin();
      await admin.connect();
      return new KafkaJsAdmin(admin);
    },
  };
}

/** Maps our validated settings to kafkajs' client config (TLS, SASL, MSK IAM). */
export function toKafkaJsConfig(config: KafkaConfig, logger?: Logger): KafkaJsConfig {
  const tls = config.security === 'ssl' || config.security === 'sasl_ssl';
  return {
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: tls ? (config.sslCa === undefined ? true : { ca: [config.sslCa] }) : false,
    sasl: toSasl(config),
    // The shared timeouts and retry policy (src/remote), in kafkajs' terms.
    connectionTimeout: config.calls.timeouts.connectMs,
    requestTimeout: config.calls.timeouts.requestMs,
    retry: kafkaJsRetry(config.calls.retry),
    logLevel: kafkajs().logLevel.INFO,
    logCreator: () => (entry) => logKafkaJs(logger, entry),
  };
}

function toSasl(config: KafkaConfig): SASLOptions | undefined {
  const sasl = config.sasl;
  if (sasl === undefined) return undefined;
  if (sasl.mechanism === 'aws-msk-iam') {
    const region = sasl.region;
    return {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: await mskIamToken(region) }),
    };
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}

/** kafkajs' text for the REBALANCE_IN_PROGRESS protocol error (its logs carry the text, not the code). */
const REBALANCE_IN_PROGRESS = /^The group is rebalancing/;

function logKafkaJs(logger: Logger | undefined, entry: LogEntry): void {
  if (logger === undefined) return;
  const { logLevel } = kafkajs();
  // kafkajs logs every pause/resume and join at INFO: keep those at debug so they don't flood.
  const { message, timestamp: _ts, ...rest } = entry.log;
  const obj = { component: 'kafkajs', namespace: entry.namespace, ...rest };
  // A heartbeat answered "rebalancing" is how a rebalance starts, not an error: it is logged as one by the group.
  if (entry.level === logLevel.ERROR && REBALANCE_IN_PROGRESS.test(String((rest as { error?: unknown }).error))) logger.debug(obj, message);
  else if (entry.level === logLevel.ERROR) logger.error(obj, message);
  else if (entry.level === logLevel.WARN) logger.warn(obj, message);
  else logger.debug(obj, message);
}

class KafkaJsConsumer implements KafkaConsumerClient {
  private readonly consumer: Consumer;
  private readonly removers: Array<() => void> = [];

  constructor(kafka: Kafka, private readonly options: ConsumerOptions, private readonly logger?: Logger) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxBytes: options.maxBytes,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxWaitTimeInMs: options.maxWaitTimeMs,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
    });
  }

  async start(handlers: ConsumerHandlers): Promise<void> {
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    const onRevoke = handlers.onRevoke?.bind(handlers);
    if (onRevoke !== undefined) {
      // First, so that a kafkajs version the hook cannot patch fails start before anything is registered.
      this.removers.push(
        registerRejoinHook(this.consumer, {
          beforeJoin: onRevoke,
          onError: (error) => this.logger?.error({ err: error, groupId: this.options.groupId }, 'onRevoke failed; rejoining the group anyway'),
        }),
      );
    }
    // kafkajs emits GROUP_JOIN synchronously after the group sync and before the first fetch, so
    // seeks issued by the handler apply to the first fetch of the new assignment.
    this.removers.push(
      this.consumer.on(GROUP_JOIN, (event) => {
        const assignment: TopicPartition[] = [];
        for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
          for (const partition of partitions) assignment.push({ topic, partition });
        }
        handlers.onAssignment(assignment);
      }),
      this.consumer.on(CRASH, (event) => {
        if (!event.payload.restart) handlers.onFatal(event.payload.error);
      }),
    );
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics] });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch }) => {
        handlers.onBatch(batch);
      },
    });
  }

  seek(position: TopicPartitionOffset): void {
    this.consumer.seek(position);
  }

  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.consumer.pause(groupByTopic(partitions));
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.consumer.resume(groupByTopic(partitions));
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length > 0) await this.consumer.commitOffsets(offsets.map((o) => ({ ...o })));
  }

  async stop(): Promise<void> {
    for (const remove of this.removers.splice(0)) remove();
    await this.consumer.disconnect();
  }
}

function groupByTopic(partitions: readonly TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list) list.push(partition);
    else byTopic.set(topic, [partition]);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}

class KafkaJsProducer implements KafkaProducerClient {
  private readonly producer;

  constructor(kafka: Kafka, idempotent: boolean) {
    this.producer = kafka.producer({
      createPartitioner: kafkajs().Partitioners.DefaultPartitioner,
      idempotent,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(topic: string, messages: readonly ProducedMessage[]): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: m.value,
        ...(m.partition === undefined ? {} : { partition: m.partition }),
        ...(m.headers === undefined ? {} : { headers: { ...m.headers } }),
      })),
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

class KafkaJsAdmin implements KafkaAdminClient {
  constructor(private readonly admin: Admin) {}

  async ensureTopic(topic: string, partitions: number): Promise<boolean> {
    const existing = await this.admin.listTopics();
    if (existing.includes(topic)) return false;
    try {
      return await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    } catch (error) {
      // A concurrent creator won the race: the topic exists, which is all we wanted.
      if ((error as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return false;
      throw error;
    }
  }

  async describeTopic(topic: string): Promise<{ readonly partitions: number } | undefined> {
    // Listing first: asking for the metadata of a missing topic is retried as an error.
    if (!(await this.admin.listTopics()).includes(topic)) return undefined;
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return { partitions: topics.find((t) => t.name === topic)?.partitions.length ?? 0 };
  }

  async partitionBounds(topic: string): Promise<readonly PartitionBounds[]> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.map(({ partition, low, high }) => ({ partition, low, high }));
  }

  async offsetsForTimestamp(topic: string, timestamp: number): Promise<readonly TopicPartitionOffset[]> {
    const [byTime, bounds] = await Promise.all([this.admin.fetchTopicOffsetsByTimestamp(topic, timestamp), this.partitionBounds(topic)]);
    return byTime.map(({ partition, offset }) => ({
      topic,
      partition,
      // -1: no record at or after the timestamp yet, so start at the end.
      offset: offset === '-1' ? (bounds.find((b) => b.partition === partition)?.high ?? '0') : offset,
    }));
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }
}
