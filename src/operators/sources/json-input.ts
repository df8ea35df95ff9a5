import { withFastPath } from '../../runtime/validation/fast-record-schema.js';
import type { RecordSchema } from '../../runtime/record-schema.js';
import { describeSchemaError } from '../kafka/json-deserializer.js';
import { kafkaConfigured, loadKafkaConfig } from '../kafka/kafka-config.js';
import { KafkaDeadLetterSink, MIN_DLQ_BATCH_BYTES } from '../kafka/kafka-dead-letter-sink.js';
import { DEFAULT_DLQ_MAX_BATCH_BYTES } from '../kafka/dead-letter-batches.js';
import { kafkaSource } from '../kafka/kafka-source.js';
import type { DeadLetterSink } from '../../runtime/dead-letter.js';
import type { JobEnvironment } from '../../runtime/job.js';
import type { Source } from '../../runtime/source.js';
import { intSetting } from '../../runtime/int-setting.js';
import { datagenSource } from './datagen-source.js';

/** A job's JSON input: where it comes from in production and how to make it up locally. */
export interface JsonInputSpec<T> {
  /** Kafka topic (KAFKA_TOPIC overrides it). */
  readonly topic: string;
  /** Validates each parsed record (a zod schema); failures are dead letters with the reason. */
  readonly schema: RecordSchema<T>;
  /** Raw JSON-like record `index` for the embedded generator and `produce.js`. */
  readonly generate: (index: number, random: () => number) => unknown;
  /**
   * The message key the upstream service gives a validated record (the field the topic is
   * partitioned by); `produce.js` keys test data by it. Optional.
   */
  readonly key?: (record: T) => string;
  /** Event time of a validated record, epoch millis. Without it, records carry no watermarks. */
  readonly eventTime?: (record: T) => number;
  /** Bounded out-of-orderness of event time. Default 0. */
  readonly maxOutOfOrdernessMs?: number;
  /** A Kafka partition quiet this long stops holding back the watermark. Default 30 s. */
  readonly idleTimeoutMs?: number;
}

/**
 * The job's input: the Kafka topic when `KAFKA_BROKERS` is set, else the built-in generator
 * (embedded default). Both validate records with the same schema, so a job behaves the same.
 */
export function jsonInput<T>(env: JobEnvironment, spec: JsonInputSpec<T>): Source<T, unknown> {
  const kafka = { env: env.settings, jobName: env.jobName };
  if (kafkaConfigured(kafka)) {
    return kafkaSource<T>({
      config: loadKafkaConfig(kafka),
      topic: spec.topic,
      schema: spec.schema,
      ...(spec.eventTime === undefined
        ? {}
        : { eventTime: spec.eventTime, watermarks: { maxOutOfOrdernessMs: spec.maxOutOfOrdernessMs ?? 0, idleTimeoutMs: spec.idleTimeoutMs ?? 30_000 } }),
    }) as Source<T, unknown>;
  }
  const count = env.settings.GENERATOR_COUNT ? intSetting(env.settings, 'GENERATOR_COUNT', 0) : undefined;
  const rate = env.settings.GENERATOR_RATE ? intSetting(env.settings, 'GENERATOR_RATE', 0, 1) : undefined;
  const schema = withFastPath(spec.schema);
  return datagenSource<T>({
    generate: (index, random) => {
      const parsed = schema.safeParse(spec.generate(index, random));
      if (!parsed.success) throw new Error(`generator record ${index} violates the input schema: ${describeSchemaError(parsed.error)}`);
      return parsed.data;
    },
    ...(count !== undefined ? { count } : {}),
    ...(rate !== undefined ? { ratePerSecond: rate } : {}),
    ...(spec.eventTime === undefined ? {} : { eventTime: spec.eventTime, maxOutOfOrdernessMs: spec.maxOutOfOrdernessMs ?? 0 }),
  }) as Source<T, unknown>;
}

/** Dead letters go to `<topic>.dlq` when reading Kafka; otherwise the runtime's local file. */
export function jsonInputDeadLetters(env: JobEnvironment, topic: string): DeadLetterSink | undefined {
  const kafka = { env: env.settings, jobName: env.jobName };
  if (!kafkaConfigured(kafka)) return undefined;
  const config = loadKafkaConfig(kafka);
  const maxBatchBytes = intSetting(env.settings, 'KAFKA_DLQ_MAX_BATCH_BYTES', DEFAULT_DLQ_MAX_BATCH_BYTES, MIN_DLQ_BATCH_BYTES);
  return new KafkaDeadLetterSink({ config, sourceTopic: config.topic ?? topic, maxBatchBytes, logger: env.logger });
}

