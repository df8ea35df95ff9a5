import { jsonSerializer, type VersionedSerializer } from '../../runtime/serializer.js';
import type { SplitPositions } from '../../runtime/source.js';
import type { TopicPartitionOffset } from './kafka-client.js';

/**
 * A Kafka source's checkpointed position: per topic-partition the *next* offset to read (what
 * Kafka itself commits), as a decimal string so 64-bit offsets survive JSON.
 */
export interface KafkaPositions {
  readonly offsets: readonly TopicPartitionOffset[];
}

/** Serializer of KafkaPositions (version 1: JSON). */
export const kafkaPositionsSerializer: VersionedSerializer<KafkaPositions> = jsonSerializer<KafkaPositions>(1);

/** `topic:partition`, the key of per-partition maps. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** The offsets as a map keyed by `partitionKey`. */
export function positionsByPartition(positions: KafkaPositions | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const { topic, partition, offset } of positions?.offsets ?? []) {
    if (!/^\d+$/.test(offset)) throw new RangeError(`invalid offset '${offset}' for ${topic}:${partition}`);
    map.set(partitionKey(topic, partition), offset);
  }
  return map;
}

/** Splits of a Kafka source are its partitions, `topic:partition`; a split's position is the next offset. */
export const kafkaSplitPositions: SplitPositions<KafkaPositions> = {
  toSplits(positions) {
    const splits: Record<string, number> = {};
    for (const { topic, partition, offset } of positions.offsets) splits[partitionKey(topic, partition)] = Number(offset);
    return splits;
  },
  fromSplits(splits) {
    return { offsets: Object.entries(splits).map(([key, offset]) => ({ ...parsePartitionKey(key), offset: String(offset) })) };
  },
};

/** Inverse of `partitionKey` (topic names may contain neither ':' nor anything but [A-Za-z0-9._-]). */
export function parsePartitionKey(key: string): { topic: string; partition: number } {
  const colon = key.lastIndexOf(':');
  const partition = Number(key.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(partition) || partition < 0) throw new RangeError(`'${key}' is not a topic:partition split`);
  return { topic: key.slice(0, colon), partition };
}
