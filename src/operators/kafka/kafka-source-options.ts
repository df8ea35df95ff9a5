import type { Logger } from '../../runtime/logger.js';
import type { KafkaClient } from './kafka-client.js';
import type { KafkaConfig } from './kafka-config.js';
import type { JsonDeserializer, RecordSchema } from './json-deserializer.js';
import type { WatermarkOptions } from './partition-watermarks.js';

/** Options of `kafkaSource`. */
export interface KafkaSourceOptions<T> {
  /** Validated settings (see `loadKafkaConfig`). */
  readonly config: KafkaConfig;
  /** Topic to read; `config.topic` (KAFKA_TOPIC) overrides it. */
  readonly topic?: string;
  /** Validates each parsed record (e.g. a zod schema); failures become `schema_violation` dead letters. */
  readonly schema?: RecordSchema<T>;
  /** Larger records become `too_large` dead letters. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  /**
   * Replaces the JSON deserializer (then `schema` and `maxRecordBytes` are unused), e.g. for
   * another format. It throws RecordRejectedError for records that must become dead letters.
   */
  readonly deserializer?: JsonDeserializer<T>;
  /** Event time of a record: a field of it, or the Kafka timestamp (default). Used for watermarks. */
  readonly eventTime?: 'kafka-timestamp' | ((record: T) => number);
  /** When set, each batch carries the source watermark. */
  readonly watermarks?: WatermarkOptions;
  /** Records buffered between the client and `poll`; beyond it partitions are paused. Default 50 000. */
  readonly queueCapacityRecords?: number;
  /** Most records returned by one `poll`. Default 5 000. */
  readonly maxBatchRecords?: number;
  /** How long `poll` waits for data before answering 'idle', ms. Default 100. */
  readonly pollTimeoutMs?: number;
  /**
   * Fetch sizing handed to the client. `maxWaitTimeMs` (how long the broker holds a fetch that
   * finds no data) defaults to 100: kafkajs also sleeps that long, and cannot be woken, when every
   * partition is paused, as the reader pauses them when its queue is full. The reader resumes at
   * half its queue, which a subtask takes in ~250 ms; with 500 the queue ran dry before kafkajs
   * fetched again, and a subtask idled 16 % of the steady state (BENCHMARKS.md, session 19).
   */
  readonly fetch?: { readonly maxBytes?: number; readonly maxBytesPerPartition?: number; readonly maxWaitTimeMs?: number };
  /** Client factory; the one KAFKA_CLIENT names (`createKafkaClient`) by default. */
  readonly client?: (config: KafkaConfig, logger: Logger) => KafkaClient;
  /**
   * How often the consumer lag of every owned partition is refreshed from the broker's end
   * offsets, ms (0: only when a batch is read). Default 10 000 — so lag keeps growing in the
   * metrics while partitions are paused by backpressure, instead of showing the last fetch.
   */
  readonly lagRefreshMs?: number;
}

/** The fetch wait of a source that sets none, ms (see `fetch` above). */
export const DEFAULT_FETCH_MAX_WAIT_MS = 100;

/** The fetch sizing a consumer of this source gets. */
export function fetchOptions(options: Pick<KafkaSourceOptions<unknown>, 'fetch'>): { maxBytes?: number; maxBytesPerPartition?: number; maxWaitTimeMs: number } {
  return {
    ...(options.fetch?.maxBytes === undefined ? {} : { maxBytes: options.fetch.maxBytes }),
    ...(options.fetch?.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: options.fetch.maxBytesPerPartition }),
    maxWaitTimeMs: options.fetch?.maxWaitTimeMs ?? DEFAULT_FETCH_MAX_WAIT_MS,
  };
}
