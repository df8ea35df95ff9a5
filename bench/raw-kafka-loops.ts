/**
 * The ceilings of the two Kafka clients for the lead's benchmark: each consumes a whole topic
 * (every partition up to the end offset it had when the loop started) with a fresh consumer
 * group, as fast as the raw client allows, and JSON.parses every message value — no source, no
 * queue, no positions. Fetch sizes are kafkajs' defaults for both (10 MiB per response, 1 MiB
 * per partition, 500 ms max wait) so the figures compare clients, not settings.
 */
import kafkajs from 'kafkajs';
import { Admin, Consumer, type ClusterMetadata } from '@platformatic/kafka';
import { uniqueName } from '../test/helpers/services.js';

/** What one loop read: message count, and when its first and last message arrived (performance.now()). */
export interface RawLoopResult {
  readonly messages: number;
  readonly firstMs: number;
  readonly lastMs: number;
}

const MAX_BYTES = 10 * 1024 * 1024;
const MAX_BYTES_PER_PARTITION = 1024 * 1024;
const MAX_WAIT_MS = 500;

/** kafkajs: `eachBatch` with auto-commit off, from the beginning. */
export async function rawKafkaJsLoop(brokers: readonly string[], topic: string): Promise<RawLoopResult> {
  const kafka = new kafkajs.Kafka({ clientId: 'bench-raw', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<number, number>();
  try {
    for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) if (Number(high) > Number(low)) remaining.set(partition, Number(high));
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId: uniqueName('bench-raw-kafkajs-'), maxBytes: MAX_BYTES, maxBytesPerPartition: MAX_BYTES_PER_PARTITION, maxWaitTimeInMs: MAX_WAIT_MS });
  let messages = 0;
  let firstMs = 0;
  let lastMs = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      if (remaining.size === 0) resolve();
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (messages === 0) firstMs = performance.now();
            for (const message of batch.messages) parseOrSkip(message.value!);
            messages += batch.messages.length;
            const end = remaining.get(batch.partition);
            if (end !== undefined && batch.messages.length > 0 && Number(batch.lastOffset()) + 1 >= end) remaining.delete(batch.partition);
            if (remaining.size === 0) {
              lastMs = performance.now();
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { messages, firstMs, lastMs };
}

/**
 * @platformatic/kafka: its fastest path is its low-level `Consumer.fetch`, driven here by a loop
 * of our own (one fetch in flight per leader, on a connection pool separate from the group's)
 * — its MessagesStream pushes each record through a Node stream with per-message objects.
 */
export async function rawPlatformaticLoop(brokers: readonly string[], topic: string): Promise<RawLoopResult> {
  const { starts, ends } = await platformaticBounds(brokers, topic);
  /** Next offset to fetch per partition still to read. */
  const positions = new Map([...starts].filter(([partition, start]) => start < ends.get(partition)!));
  const consumer = new Consumer({ clientId: 'bench-raw', bootstrapBrokers: [...brokers], groupId: uniqueName('bench-raw-platformatic-'), autocommit: false, maxWaitTime: MAX_WAIT_MS });
  let messages = 0;
  let firstMs = 0;
  let lastMs = 0;
  try {
    consumer.topics.track(topic);
    await consumer.joinGroup({});
    const assigned = new Set(consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? []);
    const metadata: ClusterMetadata = await consumer.metadata({ topics: [topic] });
    const topicId = metadata.topics.get(topic)!.id;
    const byLeader = new Map<number, number[]>();
    for (const partition of positions.keys()) {
      if (!assigned.has(partition)) throw new Error(`partition ${partition} was not assigned to the only member of a fresh group`);
      const leader = metadata.topics.get(topic)!.partitions[partition]!.leader;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, partitions]) => {
        for (let open = partitions; open.length > 0; open = open.filter((p) => positions.get(p)! < ends.get(p)!)) {
          const response = await consumer.fetch({
            node: leader,
            topics: [{ topicId, partitions: open.map((partition) => ({ partition, fetchOffset: positions.get(partition)!, partitionMaxBytes: MAX_BYTES_PER_PARTITION, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
            maxWaitTime: MAX_WAIT_MS,
            minBytes: 1,
            maxBytes: MAX_BYTES,
          });
          for (const { partitionIndex, records } of response.responses[0]?.partitions ?? []) {
            const from = positions.get(partitionIndex)!;
            for (const batch of records ?? []) {
              const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
              if (next > positions.get(partitionIndex)!) positions.set(partitionIndex, next);
              if (batch.attributes & 0x20) continue; // transaction markers
              // The broker returns whole batches: skip the records before the fetch offset.
              const skip = batch.firstOffset < from ? Number(from - batch.firstOffset) : 0;
              for (const record of batch.records) {
                if (record.offsetDelta < skip) continue;
                if (messages === 0) firstMs = performance.now();
                parseOrSkip(record.value!);
                messages++;
              }
            }
          }
          lastMs = performance.now();
        }
      }),
    );
  } finally {
    await consumer.close();
  }
  return { messages, firstMs, lastMs };
}

/** JSON.parse of one value; a malformed one (the topic holds some, as a real one does) is skipped, not thrown. */
function parseOrSkip(value: Buffer): void {
  try {
    JSON.parse(value.toString());
  } catch {
    // skipped: the job sends these to its dead-letter topic
  }
}

/** Where each partition's log starts and ends now (ListOffsets earliest / latest). */
async function platformaticBounds(brokers: readonly string[], topic: string): Promise<{ starts: Map<number, bigint>; ends: Map<number, bigint> }> {
  const admin = new Admin({ clientId: 'bench-raw', bootstrapBrokers: [...brokers] });
  try {
    const count = (await admin.metadata({ topics: [topic] })).topics.get(topic)!.partitionsCount;
    const list = async (timestamp: bigint) => {
      const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp })) }] });
      return new Map(listed.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.offset] as const)));
    };
    const [starts, ends] = await Promise.all([list(-2n), list(-1n)]);
    return { starts, ends };
  } finally {
    await admin.close();
  }
}
