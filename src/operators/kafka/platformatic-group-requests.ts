import type { API, Connection, Consumer } from '@platformatic/kafka';
import { StreamlineError } from '../../errors.js';
import type { TopicPartitionOffset } from './kafka-client.js';
import type { PlatformaticKafka } from './platformatic-module.js';

/** A protocol API of the version the broker and the library agree on (`kGetApi`, exported by the library for subclasses). */
export function groupApi<Args extends unknown[], Response>(kafka: PlatformaticKafka, consumer: Consumer, name: string): Promise<API<Args, Response>> {
  return new Promise((resolve, reject) => {
    consumer[kafka.kGetApi]<Args, Response>(name, (error, api) => (error || api === undefined ? reject(error ?? new StreamlineError(`no ${name} API`)) : resolve(api)));
  });
}

/** The connection to the consumer's group coordinator, which its own group requests use too. */
export async function coordinatorConnection(kafka: PlatformaticKafka, consumer: Consumer): Promise<Connection> {
  const coordinatorId = await consumer.findGroupCoordinator();
  const metadata = await consumer.metadata({ topics: consumer.topics.current });
  const broker = metadata.brokers.get(coordinatorId);
  if (broker === undefined) throw new StreamlineError(`the coordinator of group '${consumer.groupId}' (node ${coordinatorId}) is not in the cluster metadata`, { retriable: true });
  return new Promise((resolve, reject) => {
    consumer[kafka.kGetConnection](broker, (error, connection) => (error || connection === undefined ? reject(error ?? new StreamlineError('no connection')) : resolve(connection)));
  });
}

/**
 * Commits `offsets` for the consumer's current generation, once. Not `Consumer.commit`: when the
 * group is rebalancing that one rejoins the group by itself and commits again — a rejoin that
 * bypasses the hand-over, and from inside the hand-over (which commits) a deadlock.
 */
export async function commitGroupOffsets(kafka: PlatformaticKafka, consumer: Consumer, offsets: readonly TopicPartitionOffset[]): Promise<void> {
  if (consumer.memberId === null) throw new StreamlineError(`cannot commit offsets: not a member of group '${consumer.groupId}' (yet)`, { retriable: true });
  const byTopic = new Map<string, { name: string; partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }[] }>();
  for (const { topic, partition, offset } of offsets) {
    let entry = byTopic.get(topic);
    if (entry === undefined) byTopic.set(topic, (entry = { name: topic, partitions: [] }));
    entry.partitions.push({ partitionIndex: partition, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null });
  }
  const connection = await coordinatorConnection(kafka, consumer);
  const api = await groupApi<[string, number, string | null, string | null, unknown[]], unknown>(kafka, consumer, 'OffsetCommit');
  await api.async(connection, consumer.groupId, consumer.generationId, consumer.memberId, consumer.groupInstanceId, [...byTopic.values()]);
}

/** One Heartbeat of the consumer's current generation, on `connection` (its coordinator's). */
export async function heartbeatOnce(kafka: PlatformaticKafka, consumer: Consumer, connection: Connection): Promise<void> {
  if (consumer.memberId === null) return;
  const api = await groupApi<[string, number, string, string | null], unknown>(kafka, consumer, 'Heartbeat');
  await api.async(connection, consumer.groupId, consumer.generationId, consumer.memberId, consumer.groupInstanceId);
}

/** Whether `error` (possibly several retries' worth) carries the Kafka protocol error `apiId`, e.g. 'REBALANCE_IN_PROGRESS'. */
export function hasProtocolError(error: unknown, apiId: string): boolean {
  const found = (error as { findBy?: (property: string, value: unknown) => unknown } | null)?.findBy?.('apiId', apiId);
  return found !== null && found !== undefined;
}
