import { ConfigError } from '../../errors.js';
import type { KafkaClient } from './kafka-client.js';
import type { StartPosition } from './kafka-config.js';

/** Where one partition's log stands, and where a reader without a restored position starts in it. */
export interface PartitionStart {
  readonly partition: number;
  /** First offset still in the log (retention removed the ones before). */
  readonly low: number;
  /** Offset after the last record when asked (the end offset). */
  readonly high: number;
  /** Where reading starts when nothing was restored (KAFKA_START_FROM). */
  readonly start: number;
}

/**
 * Reads every partition's bounds from the broker and resolves the configured start position in
 * each. A topic that cannot be read or does not exist is a configuration error naming KAFKA_TOPIC.
 */
export async function resolvePartitionStarts(client: KafkaClient, topic: string, startFrom: StartPosition): Promise<PartitionStart[]> {
  const admin = await client.admin();
  try {
    const bounds = await admin.partitionBounds(topic).catch((error: unknown) => {
      throw new ConfigError('KAFKA_TOPIC', `cannot read topic '${topic}': ${error instanceof Error ? error.message : String(error)}`);
    });
    if (bounds.length === 0) throw new ConfigError('KAFKA_TOPIC', `topic '${topic}' does not exist`);
    const byTime = startFrom.kind === 'timestamp' ? await admin.offsetsForTimestamp(topic, startFrom.timestamp) : [];
    return bounds.map((b) => {
      const low = Number(b.low);
      const high = Number(b.high);
      const start =
        startFrom.kind === 'earliest' ? low : startFrom.kind === 'latest' ? high : Number(byTime.find((o) => o.partition === b.partition)?.offset ?? low);
      return { partition: b.partition, low, high, start };
    });
  } finally {
    await admin.disconnect();
  }
}
