import type { Producer } from '@platformatic/kafka';
import { StreamlineError } from '../../errors.js';
import type { Clock } from '../../runtime/time/clock.js';
import { withDeadline } from './kafka-call-deadline.js';
import type { KafkaProducerClient, ProducedMessage } from './kafka-client.js';
import { loadPlatformaticKafka } from './platformatic-module.js';
import type { PlatformaticBaseOptions } from './platformatic-options.js';

/** Kafka's acks=all. */
const ACKS_ALL = -1;

/**
 * A producer on @platformatic/kafka. Its retries are bounded (an idempotent producer would
 * otherwise retry for ever) and every call has a deadline. Keyed records go to the partition
 * Kafka's Java client (and kafkajs' default partitioner) picks: murmur2 of the key, sign bit
 * cleared, modulo the partition count — so switching clients keeps every key in its partition.
 */
export class PlatformaticProducer implements KafkaProducerClient {
  private producer: Producer | undefined;

  constructor(
    private readonly base: PlatformaticBaseOptions,
    private readonly idempotent: boolean,
    private readonly clock: Clock,
    /** Deadline of one `send`, all retries included. */
    private readonly sendTimeoutMs = 120_000,
  ) {}

  async connect(): Promise<void> {
    const kafka = await loadPlatformaticKafka();
    const producer = new kafka.Producer({
      ...this.base,
      idempotent: this.idempotent,
      acks: ACKS_ALL,
      partitioner: kafka.compatibilityPartitioner,
    });
    this.producer = producer;
    // Connects and authenticates now, as kafkajs' connect does, rather than at the first send.
    await withDeadline(producer.metadata({ topics: [] }), 30_000, 'connecting the producer', this.clock);
  }

  async send(topic: string, messages: readonly ProducedMessage[]): Promise<void> {
    const producer = this.producer;
    if (producer === undefined) throw new StreamlineError('Kafka producer used before connect()');
    const records = messages.map((m) => ({
      topic,
      ...(m.key == null ? {} : { key: toBuffer(m.key) }),
      ...(m.value == null ? {} : { value: toBuffer(m.value) }),
      ...(m.partition === undefined ? {} : { partition: m.partition }),
      ...(m.headers === undefined ? {} : { headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), toBuffer(v)])) }),
    }));
    await withDeadline(producer.send({ messages: records, acks: ACKS_ALL }), this.sendTimeoutMs, `producing ${records.length} records to '${topic}'`, this.clock);
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await withDeadline(producer.close(), 30_000, 'closing the producer', this.clock);
  }
}

function toBuffer(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}
