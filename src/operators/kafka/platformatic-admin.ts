import type { Admin } from '@platformatic/kafka';
import type { Clock } from '../../runtime/time/clock.js';
import { withDeadline } from './kafka-call-deadline.js';
import type { KafkaAdminClient, PartitionBounds, TopicPartitionOffset } from './kafka-client.js';
import { hasProtocolError } from './platformatic-group-requests.js';

/** Kafka's special ListOffsets timestamps. */
const LATEST = -1n;
const EARLIEST = -2n;
const CALL_TIMEOUT_MS = 30_000;

/** The admin operations we need, on @platformatic/kafka's Admin; each call has a deadline. */
export class PlatformaticAdmin implements KafkaAdminClient {
  constructor(
    private readonly admin: Admin,
    private readonly clock: Clock,
  ) {}

  async ensureTopic(topic: string, partitions: number): Promise<boolean> {
    const existing = await this.call(this.admin.listTopics({}), 'listing topics');
    if (existing.includes(topic)) return false;
    try {
      await this.call(this.admin.createTopics({ topics: [topic], partitions }), `creating topic '${topic}'`);
    } catch (error) {
      // A concurrent creator won the race: the topic exists, which is all we wanted.
      if (hasProtocolError(error, 'TOPIC_ALREADY_EXISTS')) return false;
      throw error;
    }
    await this.waitUntilWritable(topic, partitions);
    return true;
  }

  async describeTopic(topic: string): Promise<{ readonly partitions: number } | undefined> {
    // Listing first: the metadata of a missing topic may create it (auto.create.topics.enable).
    if (!(await this.call(this.admin.listTopics({}), 'listing topics')).includes(topic)) return undefined;
    return { partitions: (await this.partitionsOf(topic)).length };
  }

  async partitionBounds(topic: string): Promise<readonly PartitionBounds[]> {
    const partitions = await this.partitionsOf(topic);
    const [lows, highs] = await Promise.all([this.listOffsets(topic, partitions, EARLIEST), this.listOffsets(topic, partitions, LATEST)]);
    return partitions.map((partition) => ({ partition, low: String(lows.get(partition) ?? 0n), high: String(highs.get(partition) ?? 0n) }));
  }

  async offsetsForTimestamp(topic: string, timestamp: number): Promise<readonly TopicPartitionOffset[]> {
    const partitions = await this.partitionsOf(topic);
    const [byTime, highs] = await Promise.all([this.listOffsets(topic, partitions, BigInt(timestamp)), this.listOffsets(topic, partitions, LATEST)]);
    return partitions.map((partition) => {
      const offset = byTime.get(partition) ?? -1n;
      // -1: no record at or after the timestamp yet, so start at the end.
      return { topic, partition, offset: String(offset < 0n ? (highs.get(partition) ?? 0n) : offset) };
    });
  }

  async disconnect(): Promise<void> {
    await this.call(this.admin.close(), 'closing the admin client');
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const metadata = await this.call(this.admin.metadata({ topics: [topic] }), `reading the metadata of '${topic}'`);
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    return Array.from({ length: count }, (_, partition) => partition);
  }

  private async listOffsets(topic: string, partitions: readonly number[], timestamp: bigint): Promise<Map<number, bigint>> {
    if (partitions.length === 0) return new Map();
    const listed = await this.call(
      this.admin.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] }),
      `listing offsets of '${topic}'`,
    );
    const offsets = new Map<number, bigint>();
    for (const t of listed) if (t.name === topic) for (const p of t.partitions) offsets.set(p.partitionIndex, p.offset);
    return offsets;
  }

  /**
   * A new topic's partitions accept writes a moment after the controller created it: leaders in
   * the metadata first, then each leader knows its partition. Until then a produce is answered
   * NOT_LEADER_OR_FOLLOWER for some partitions and retried whole — writing the others twice (the
   * client's Produce v11 parser also fails on that answer). ListOffsets is refused the same way,
   * so once it succeeds for every partition the topic is ready.
   */
  private async waitUntilWritable(topic: string, partitions: number): Promise<void> {
    const deadline = this.clock.monotonic() + CALL_TIMEOUT_MS;
    const all = Array.from({ length: partitions }, (_, partition) => partition);
    for (;;) {
      try {
        const metadata = await this.call(this.admin.metadata({ topics: [topic], forceUpdate: true }), `reading the metadata of '${topic}'`);
        const known = metadata.topics.get(topic)?.partitions ?? [];
        if (known.length === partitions && known.every((p) => p !== undefined && p.leader >= 0)) {
          await this.listOffsets(topic, all, LATEST);
          return;
        }
      } catch {
        // not ready yet
      }
      if (this.clock.monotonic() > deadline) return; // producers retry; the topic exists
      await this.clock.sleep(50);
    }
  }

  private call<T>(call: Promise<T>, what: string): Promise<T> {
    return withDeadline(call, CALL_TIMEOUT_MS, what, this.clock);
  }
}
