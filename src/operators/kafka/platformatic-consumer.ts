import type { ConnectionPool, Consumer, ConsumerGroupJoinPayload } from '@platformatic/kafka';
import { StreamlineError } from '../../errors.js';
import type { Logger } from '../../runtime/logger.js';
import type { Clock } from '../../runtime/time/clock.js';
import { withDeadline } from './kafka-call-deadline.js';
import type { ConsumerHandlers, ConsumerOptions, KafkaConsumerClient, TopicPartition, TopicPartitionOffset } from './kafka-client.js';
import { PlatformaticFetcher } from './platformatic-fetcher.js';
import { commitGroupOffsets } from './platformatic-group-requests.js';
import { watchHeartbeats } from './platformatic-heartbeat-watch.js';
import { loadPlatformaticKafka, type PlatformaticKafka } from './platformatic-module.js';
import { connectionOptions, type PlatformaticBaseOptions } from './platformatic-options.js';
import { installJoinHook } from './platformatic-rejoin-hook.js';

/** Fetch defaults, as kafkajs' (10 MiB per response, 1 MiB per partition). */
const MAX_BYTES = 10 * 1024 * 1024;
const MAX_BYTES_PER_PARTITION = 1024 * 1024;
/** Kafka's isolation level "read committed" (kafkajs' default). */
const READ_COMMITTED = 1;

/**
 * A group consumer on @platformatic/kafka: the library keeps the membership (join, sync,
 * heartbeats, the round-robin assignment when this member leads); fetching is our own loop
 * ({@link PlatformaticFetcher}); the blocking revoke hook wraps its JoinGroup
 * (platformatic-rejoin-hook.ts); offsets are committed by our own request (see
 * `commitGroupOffsets`). Every call has a deadline; the library's retries are bounded.
 */
export class PlatformaticConsumer implements KafkaConsumerClient {
  private kafka: PlatformaticKafka | undefined;
  private consumer: Consumer | undefined;
  private pool: ConnectionPool | undefined;
  private fetcher: PlatformaticFetcher | undefined;
  private failed = false;
  private stopped = false;

  private readonly sessionTimeoutMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxWaitTimeMs: number;

  constructor(
    private readonly base: PlatformaticBaseOptions,
    private readonly options: ConsumerOptions,
    private readonly logger: Logger | undefined,
    private readonly clock: Clock,
  ) {
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    // The library refuses a rebalance timeout below the session timeout (loadKafkaConfig says so first).
    this.rebalanceTimeoutMs = Math.max(options.rebalanceTimeoutMs ?? 60_000, this.sessionTimeoutMs);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.min(3_000, Math.floor(this.sessionTimeoutMs / 3));
    this.maxWaitTimeMs = options.maxWaitTimeMs ?? 5_000;
  }

  async start(handlers: ConsumerHandlers): Promise<void> {
    const kafka = await loadPlatformaticKafka();
    this.kafka = kafka;
    const fatal = (error: Error) => {
      if (this.failed || this.stopped) return;
      this.failed = true;
      handlers.onFatal(error);
    };
    const consumer = new kafka.Consumer({
      ...this.base,
      // JoinGroup is answered only once every member rejoined: up to the rebalance timeout.
      requestTimeout: this.rebalanceTimeoutMs + 10_000,
      groupId: this.options.groupId,
      autocommit: false,
      sessionTimeout: this.sessionTimeoutMs,
      rebalanceTimeout: this.rebalanceTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTime: this.maxWaitTimeMs,
      isolationLevel: READ_COMMITTED,
    });
    this.consumer = consumer;
    this.pool = new kafka.ConnectionPool(this.base.clientId, connectionOptions(this.base, this.maxWaitTimeMs + 30_000));
    const fetcher = new PlatformaticFetcher(
      consumer,
      this.pool,
      { maxWaitTimeMs: this.maxWaitTimeMs, maxBytes: this.options.maxBytes ?? MAX_BYTES, maxBytesPerPartition: this.options.maxBytesPerPartition ?? MAX_BYTES_PER_PARTITION, isolationLevel: READ_COMMITTED },
      (batch) => handlers.onBatch(batch),
      fatal,
      this.logger,
      this.clock,
    );
    this.fetcher = fetcher;

    // A rejoin that failed for good leaves the group without this member: like kafkajs' crash without restart.
    consumer.on('error', (error: Error) => fatal(new StreamlineError(`the Kafka consumer of group '${this.options.groupId}' failed: ${error.message}`, { cause: error })));
    watchHeartbeats(consumer, { groupId: this.options.groupId, sessionTimeoutMs: this.sessionTimeoutMs, clock: this.clock }, fatal);
    consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => {
      const assignment: TopicPartition[] = [];
      for (const { topic, partitions } of payload.assignments ?? []) for (const partition of partitions) assignment.push({ topic, partition });
      fetcher.assign(assignment);
      try {
        handlers.onAssignment(assignment);
      } catch (error) {
        fatal(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      fetcher.release();
    });
    installJoinHook(
      kafka,
      consumer,
      {
        onJoin: () => fetcher.hold(),
        ...(handlers.onRevoke === undefined ? {} : { beforeJoin: handlers.onRevoke.bind(handlers) }),
        onError: (error) => this.logger?.error({ err: error, groupId: this.options.groupId }, 'onRevoke failed; rejoining the group anyway'),
      },
      { sessionTimeoutMs: this.sessionTimeoutMs, clock: this.clock },
    );
    for (const topic of this.options.topics) consumer.topics.track(topic);
    try {
      await withDeadline(consumer.joinGroup({}), this.rebalanceTimeoutMs + 30_000, `joining group '${this.options.groupId}'`, this.clock);
    } catch (error) {
      await this.stop();
      throw error;
    }
    fetcher.start();
  }

  seek(position: TopicPartitionOffset): void {
    this.fetcher?.seek(position.topic, position.partition, Number(position.offset));
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.fetcher?.pause(partitions);
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.fetcher?.resume(partitions);
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0 || this.kafka === undefined || this.consumer === undefined) return;
    await withDeadline(commitGroupOffsets(this.kafka, this.consumer, offsets), 30_000, `committing offsets of group '${this.options.groupId}'`, this.clock);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const fetching = this.fetcher?.stop();
    // Closing the fetch connections fails a fetch waiting on the broker at once; the library's
    // retry of it (it retries failed fetches) is cancelled when the consumer closes below.
    await this.pool?.close().catch(() => undefined);
    const consumer = this.consumer;
    if (consumer !== undefined) {
      try {
        // Leaves the group (the others take the partitions over at once) and closes the connections.
        await withDeadline(consumer.close(), 30_000, `leaving group '${this.options.groupId}'`, this.clock);
      } catch (error) {
        this.logger?.warn({ err: error, groupId: this.options.groupId }, 'leaving the Kafka group failed; its coordinator drops this member after the session timeout');
      }
    }
    await fetching;
  }
}
