import type { DeadLetter, DeadLetterSink } from '../../runtime/dead-letter.js';
import type { Logger } from '../../runtime/logger.js';
import type { KafkaClient, KafkaProducerClient, ProducedMessage } from './kafka-client.js';
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
  readonly logger?: Logger;
  readonly client?: KafkaClient;
}

/** The dead-letter topic a job writes to. */
export function deadLetterTopic(config: KafkaConfig, sourceTopic: string, override?: string): string {
  return override ?? config.deadLetterTopic ?? `${sourceTopic}.dlq`;
}

/**
 * Dead letters as records of a Kafka topic: the original bytes and key, the reason and origin in
 * headers. `send` starts producing at once; `flush` waits for every acknowledgement (and fails if
 * any send failed), so a checkpoint never completes before its dead letters are durable.
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  readonly topic: string;
  private readonly client: KafkaClient;
  private producer: Promise<KafkaProducerClient> | undefined;
  private inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly options: KafkaDeadLetterSinkOptions) {
    this.topic = deadLetterTopic(options.config, options.sourceTopic, options.topic);
    this.client = options.client ?? createKafkaClient(options.config, options.logger);
  }

  get location(): string {
    return `kafka topic ${this.topic}`;
  }

  send(letters: readonly DeadLetter[]): void {
    if (letters.length === 0) return;
    const messages = letters.map(toMessage);
    const sent = this.connected().then((producer) => producer.send(this.topic, messages));
    const tracked = sent.then(
      () => {
        this.inFlight.delete(tracked);
      },
      (error: unknown) => {
        this.inFlight.delete(tracked);
        this.failure ??= error;
        this.options.logger?.error({ err: error, topic: this.topic, count: messages.length }, 'producing dead letters failed');
      },
    );
    this.inFlight.add(tracked);
  }

  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
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
