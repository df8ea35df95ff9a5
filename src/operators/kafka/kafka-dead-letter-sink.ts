import type { DeadLetter, DeadLetterSink } from '../../runtime/dead-letter.js';
import type { Logger } from '../../runtime/logger.js';
import { ConfigError, DependencyUnavailableError } from '../../errors.js';
import type { KafkaClient, KafkaProducerClient, ProducedMessage } from './kafka-client.js';
import { batchDeadLetters, DEFAULT_DLQ_MAX_BATCH_BYTES, fitDeadLetter } from './dead-letter-batches.js';
import type { KafkaConfig } from './kafka-config.js';
import { createKafkaClient } from './kafka-client-factory.js';

/** Header names on dead-letter records. */
export const DEAD_LETTER_HEADERS = {
  reason: 'streamline.dlq.reason',
  detail: 'streamline.dlq.detail',
  step: 'streamline.dlq.step',
  sourceTopic: 'streamline.dlq.source.topic',
  sourcePartition: 'streamline.dlq.source.partition',
  sourceOffset: 'streamline.dlq.source.offset',
} as const;

export interface KafkaDeadLetterSinkOptions {
  readonly config: KafkaConfig;
  /** The job's input topic; the default destination is `<topic>.dlq`. */
  readonly sourceTopic: string;
  /** Overrides the destination (else KAFKA_DLQ_TOPIC, else `<sourceTopic>.dlq`). */
  readonly topic?: string;
  /** Partitions when the dead-letter topic has to be created. Default 1. */
  readonly partitions?: number;
  /** Largest record batch produced, bytes: at most the topic's max.message.bytes (KAFKA_DLQ_MAX_BATCH_BYTES, default 1 000 000). */
  readonly maxBatchBytes?: number;
  readonly logger?: Logger;
  readonly client?: KafkaClient;
}

/** Smallest KAFKA_DLQ_MAX_BATCH_BYTES: room for a dead letter's headers and some of its bytes. */
export const MIN_DLQ_BATCH_BYTES = 16_384;

/** The dead-letter topic a job writes to. */
export function deadLetterTopic(config: KafkaConfig, sourceTopic: string, override?: string): string {
  return override ?? config.deadLetterTopic ?? `${sourceTopic}.dlq`;
}

/**
 * Dead letters as records of a Kafka topic: the original bytes and key, the reason and origin in
 * headers. `send` starts producing at once, in batches under the broker's message size (a record
 * too large alone is truncated, its origin kept: see dead-letter-batches.ts); `flush` waits for
 * every acknowledgement. A batch that failed is kept and sent again by the next `flush`, which
 * fails until it went through — so no checkpoint completes past a dead letter that is not durable.
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  readonly topic: string;
  private readonly client: KafkaClient;
  private producer: Promise<KafkaProducerClient> | undefined;
  private readonly maxBatchBytes: number;
  private inFlight = new Set<Promise<void>>();
  /** Batches whose send failed, sent again by the next flush. */
  private unsent: ProducedMessage[][] = [];
  private failure: unknown;

  constructor(private readonly options: KafkaDeadLetterSinkOptions) {
    this.topic = deadLetterTopic(options.config, options.sourceTopic, options.topic);
    this.client = options.client ?? createKafkaClient(options.config, options.logger);
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_DLQ_MAX_BATCH_BYTES;
    if (!Number.isInteger(this.maxBatchBytes) || this.maxBatchBytes < MIN_DLQ_BATCH_BYTES) {
      throw new ConfigError('KAFKA_DLQ_MAX_BATCH_BYTES', `must be an integer >= ${MIN_DLQ_BATCH_BYTES}, got ${String(options.maxBatchBytes)}`);
    }
  }

  get location(): string {
    return `kafka topic ${this.topic}`;
  }

  send(letters: readonly DeadLetter[]): void {
    if (letters.length === 0) return;
    const messages = letters.map((letter) => fitDeadLetter(toMessage(letter), this.maxBatchBytes, DEAD_LETTER_HEADERS.detail));
    for (const batch of batchDeadLetters(messages, this.maxBatchBytes)) this.produce(batch);
  }

  async flush(): Promise<void> {
    await this.settled();
    if (this.unsent.length > 0) {
      const retry = this.unsent;
      this.unsent = [];
      this.failure = undefined;
      for (const batch of retry) this.produce(batch);
      await this.settled();
    }
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      const pending = this.unsent.reduce((sum, batch) => sum + batch.length, 0);
      throw new DependencyUnavailableError('Kafka', `${pending} dead letters are not yet in ${this.topic} (sent again at the next checkpoint): ${(failure as Error).message ?? String(failure)}`, { cause: failure });
    }
  }

  private produce(batch: ProducedMessage[]): void {
    const tracked = this.connected()
      .then((producer) => producer.send(this.topic, batch))
      .then(
        () => {
          this.inFlight.delete(tracked);
        },
        (error: unknown) => {
          this.inFlight.delete(tracked);
          this.unsent.push(batch);
          this.failure ??= error;
          this.options.logger?.error({ err: error, topic: this.topic, count: batch.length }, 'producing dead letters failed; they are sent again at the next checkpoint');
        },
      );
    this.inFlight.add(tracked);
  }

  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      const producer = this.producer;
      this.producer = undefined;
      if (producer) await (await producer.catch(() => undefined))?.disconnect();
    }
  }

  private connected(): Promise<KafkaProducerClient> {
    this.producer ??= (async () => {
      const admin = await this.client.admin();
      try {
        await admin.ensureTopic(this.topic, this.options.partitions ?? 1);
      } finally {
        await admin.disconnect();
      }
      const producer = this.client.producer();
      await producer.connect();
      return producer;
    })();
    // A failed connect is retried on the next send rather than cached forever.
    this.producer.catch(() => {
      this.producer = undefined;
    });
    return this.producer;
  }
}

function toMessage(letter: DeadLetter): ProducedMessage {
  const headers: Record<string, string> = {
    [DEAD_LETTER_HEADERS.reason]: letter.reason,
    [DEAD_LETTER_HEADERS.detail]: letter.detail,
    [DEAD_LETTER_HEADERS.step]: letter.step,
  };
  if (letter.origin) {
    headers[DEAD_LETTER_HEADERS.sourceTopic] = letter.origin.topic;
    headers[DEAD_LETTER_HEADERS.sourcePartition] = String(letter.origin.partition);
    headers[DEAD_LETTER_HEADERS.sourceOffset] = letter.origin.offset;
  }
  const value = typeof letter.payload === 'string' ? letter.payload : Buffer.from(letter.payload.buffer, letter.payload.byteOffset, letter.payload.byteLength);
  const key = letter.key == null || typeof letter.key === 'string' ? letter.key : Buffer.from(letter.key.buffer, letter.key.byteOffset, letter.key.byteLength);
  return { key, value, headers };
}
