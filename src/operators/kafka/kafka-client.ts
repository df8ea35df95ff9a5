/**
 * Our own small Kafka client interface. The source, dead-letter sink and producer CLI talk to
 * Kafka only through it, so that another client (e.g. @platformatic/kafka) can be measured and
 * offered beside kafkajs without touching the runtime.
 */

/** One partition of one topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A partition with an offset; for commits and seeks the offset is the *next* one to read. */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: string;
}

/** A consumed record. Shaped so kafkajs' message objects pass through without copying. */
export interface ConsumedMessage {
  readonly offset: string;
  /** Kafka timestamp, epoch millis as a decimal string. */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/**
 * A batch's messages by index: the client's array, or a subtask's packed batch, which makes each
 * message's object only when asked for (kafka-batch-packing.ts). An array is one.
 */
export interface ConsumedMessages extends Iterable<ConsumedMessage> {
  readonly length: number;
  /** As Array.prototype.at: negative indices count from the end. */
  at(index: number): ConsumedMessage | undefined;
  slice(start?: number, end?: number): ConsumedMessages;
}

/** Records of one partition in offset order, as fetched. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: ConsumedMessages;
  /** The partition's high watermark on the broker when fetched (offset after its last record). */
  readonly highWatermark: string;
}

/** Callbacks of a running consumer; all run synchronously inside the client's fetch loop. */
export interface ConsumerHandlers {
  /**
   * The group (re)assigned partitions: the complete new assignment. Called before anything is
   * fetched from them; seeks issued inside apply to the first fetch.
   */
  onAssignment(assignment: readonly TopicPartition[]): void;
  /** Fetched records; the handler must not block (it queues and pauses instead). */
  onBatch(batch: ConsumedBatch): void;
  /** The client stopped for good (non-retriable failure). */
  onFatal(error: Error): void;
  /**
   * Awaited before the consumer (re)joins its group — at the first join too, when it owns
   * nothing — while nothing is fetched: the place to checkpoint and commit before partitions
   * move. The group waits for it up to the rebalance timeout; after that this member is dropped
   * from the generation (its later commits to Kafka fail; other members may already own its
   * partitions).
   */
  onRevoke?(): Promise<void>;
}

/** Options of a group consumer. Offsets are never committed automatically. */
export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Upper bound of one fetch response / per partition, bytes. */
  readonly maxBytes?: number;
  readonly maxBytesPerPartition?: number;
  /** How long the broker may hold a fetch when there is no data, ms. */
  readonly maxWaitTimeMs?: number;
  readonly sessionTimeoutMs?: number;
  /** How long the group waits for members to rejoin during a rebalance (bounds `onRevoke`), ms. */
  readonly rebalanceTimeoutMs?: number;
  /** How often the consumer heartbeats (and so notices a rebalance); below the session timeout, ms. */
  readonly heartbeatIntervalMs?: number;
}

/** A group consumer: push-based underneath, steered with seek / pause / resume. */
export interface KafkaConsumerClient {
  start(handlers: ConsumerHandlers): Promise<void>;
  seek(position: TopicPartitionOffset): void;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  stop(): Promise<void>;
}

/** A record to produce. */
export interface ProducedMessage {
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

/** A producer; `send` resolves once the broker acknowledged (acks=all). */
export interface KafkaProducerClient {
  connect(): Promise<void>;
  send(topic: string, messages: readonly ProducedMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** Offsets bounding one partition's log. */
export interface PartitionBounds {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

/** The few admin operations we need. */
export interface KafkaAdminClient {
  /** Creates the topic when missing; true when it was created. */
  ensureTopic(topic: string, partitions: number): Promise<boolean>;
  /** The topic's partition count, or undefined when it does not exist (never creates it). */
  describeTopic(topic: string): Promise<{ readonly partitions: number } | undefined>;
  partitionBounds(topic: string): Promise<readonly PartitionBounds[]>;
  /** Per partition, the first offset whose timestamp is >= `timestamp` (the high watermark when none). */
  offsetsForTimestamp(topic: string, timestamp: number): Promise<readonly TopicPartitionOffset[]>;
  disconnect(): Promise<void>;
}

/** Creates the consumers, producers and admin clients of one cluster. */
export interface KafkaClient {
  readonly kind: string;
  consumer(options: ConsumerOptions): KafkaConsumerClient;
  producer(options?: { idempotent?: boolean }): KafkaProducerClient;
  admin(): Promise<KafkaAdminClient>;
}
