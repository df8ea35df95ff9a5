import { jsonSerializer, type VersionedSerializer } from '../../runtime/serializer.js';
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
