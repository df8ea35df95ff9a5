import { AssignmentMailbox } from '../../runtime/assignment-mailbox.js';
import { StreamlineError } from '../../errors.js';
import type { Logger } from '../../runtime/logger.js';
import type { SplitAssignment, SplitFeed, SplitFeedLink, SplitGroup } from '../../runtime/split-group.js';
import { FeedCredit } from './feed-credit.js';
import { packBatch } from './kafka-batch-packing.js';
import type { ConsumedBatch, KafkaClient, KafkaConsumerClient, TopicPartition, TopicPartitionOffset } from './kafka-client.js';
import type { KafkaConfig } from './kafka-config.js';
import { parsePartitionKey, partitionKey } from './kafka-positions.js';

/** A control message of a subtask's reader to the coordinator's consumer. */
export type KafkaFeedControl =
  | { readonly op: 'seek'; readonly position: TopicPartitionOffset }
  | { readonly op: 'pause' | 'resume'; readonly partitions: readonly TopicPartition[] }
  /** The subtask took a batch of `bytes` of this partition off its port (see FeedCredit). */
  | { readonly op: 'taken'; readonly partition: TopicPartition; readonly bytes: number };

/** Bytes of fetched batches per partition that may wait in a subtask's port before the partition is paused: a few fetches' worth. */
export const FEED_BYTES_IN_FLIGHT_PER_PARTITION = 4 * 1024 * 1024;

/** What a run reading through the group receives. */
export interface GroupBatchHandler {
  onBatch(batch: ConsumedBatch): void;
  /** A rebalance assigned these of the run's partitions again (paused): seek each to where the run stands and resume. */
  onReassigned?(partitions: readonly TopicPartition[]): void;
}

/** The consumer operations a run may use on the partitions it was assigned. */
export interface GroupPartitionControl {
  seek(position: TopicPartitionOffset): void;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Stops delivering batches to the run and pauses its partitions. */
  detach(): void;
}

/** Where a reader of assigned partitions gets its batches: the instance's group, or (in a parallel subtask) the coordinator's. */
export interface PartitionFeedSource {
  attach(generation: number, reader: GroupBatchHandler): GroupPartitionControl;
}

/** The group failed for good (the consumer crashed without restarting); the instance must stop. */
export class KafkaGroupError extends StreamlineError {}

/**
 * Group mode for a Kafka source: one consumer in the job's consumer group for the whole life of
 * the instance, across the runs of successive assignments. Kafka decides who owns which
 * partition; this class turns that into the runtime's {@link SplitGroup}:
 * - every new assignment is paused at once (inside the client's assignment callback, before the
 *   first fetch), because where to read from is only known after the run restored it;
 * - before the consumer rejoins for a rebalance, the revoke handler runs (awaited: the group
 *   waits for this member), which is where the run hands its partitions over;
 * - fetched batches go to the run that is attached, and only to it.
 */
export class KafkaSplitGroup implements SplitGroup, PartitionFeedSource {
  private readonly mailbox = new AssignmentMailbox();
  private revokeHandler: (() => Promise<void>) | undefined;
  private reader: GroupBatchHandler | undefined;
  private left = false;

  /** Three quarters of the rebalance timeout: the hand-over ends (or is cut short) before the group drops this member. */
  readonly handOverTimeoutMs: number;

  private constructor(
    private readonly consumer: KafkaConsumerClient,
    private readonly topic: string,
    private readonly logger: Logger,
    rebalanceTimeoutMs: number,
  ) {
    this.handOverTimeoutMs = Math.floor(rebalanceTimeoutMs * 0.75);
  }

  /** Joins the consumer group of `config` for `topic`; assignments arrive through `nextAssignment`. */
  static async join(client: KafkaClient, config: KafkaConfig, topic: string, logger: Logger, fetch: { maxBytes?: number; maxBytesPerPartition?: number; maxWaitTimeMs?: number } = {}): Promise<KafkaSplitGroup> {
    const consumer = client.consumer({
      groupId: config.groupId,
      topics: [topic],
      sessionTimeoutMs: config.sessionTimeoutMs,
      rebalanceTimeoutMs: config.rebalanceTimeoutMs,
      // A member notices a rebalance only at its next heartbeat: 1 s (kafkajs' default is 3 s) lets a joining instance start sooner.
      heartbeatIntervalMs: Math.max(250, Math.min(1_000, Math.floor(config.sessionTimeoutMs / 10))),
      ...fetch,
    });
    const group = new KafkaSplitGroup(consumer, topic, logger, config.rebalanceTimeoutMs);
    await consumer.start({
      onAssignment: (partitions) => group.onAssignment(partitions),
      onBatch: (batch) => group.reader?.onBatch(batch),
      onRevoke: () => group.onRebalance(),
      onFatal: (error) => group.mailbox.fail(new KafkaGroupError(`the Kafka consumer of group '${config.groupId}' stopped: ${error.message}`, { cause: error })),
    });
    logger.info({ groupId: config.groupId, topic }, 'joined the consumer group (group mode)');
    return group;
  }

  nextAssignment(signal: AbortSignal): Promise<SplitAssignment> {
    return this.mailbox.take(signal);
  }

  isCurrent(generation: number): boolean {
    return this.mailbox.isCurrent(generation);
  }

  onRevoke(handler: () => Promise<void>): void {
    this.revokeHandler = handler;
  }

  /**
   * Attaches the run of `generation`: it receives the batches of its partitions until it
   * detaches. Refused when a newer assignment arrived meanwhile (the run is already stale).
   */
  attach(generation: number, reader: GroupBatchHandler): GroupPartitionControl {
    const partitions = this.mailbox.splitsOf(generation).map(parsePartitionKey);
    this.reader = reader;
    const consumer = this.consumer;
    const current = () => this.reader === reader;
    return {
      seek: (position) => current() && consumer.seek(position),
      pause: (tps) => current() && consumer.pause(tps),
      resume: (tps) => current() && consumer.resume(tps),
      commit: (offsets) => consumer.commit(offsets),
      detach: () => {
        if (!current()) return;
        this.reader = undefined;
        consumer.pause(partitions);
      },
    };
  }

  /**
   * Feeds parallel subtasks: every batch goes to the subtask reading its partition (see
   * RemoteKafkaGroup), and a partition whose batches wait unread in that subtask's port is paused
   * here until the subtask takes them (FeedCredit), beside the pauses of the subtask's own reader.
   */
  readonly feed: SplitFeed = {
    attach: (generation, deliver): SplitFeedLink => {
      const credit = new FeedCredit(FEED_BYTES_IN_FLIGHT_PER_PARTITION);
      const control = this.attach(generation, {
        onBatch: (batch) => {
          const { packed, transfer } = packBatch(batch);
          const key = partitionKey(batch.topic, batch.partition);
          if (credit.sent(key, packed.data.byteLength)) control.pause([{ topic: batch.topic, partition: batch.partition }]);
          deliver(key, packed, transfer);
        },
      });
      return {
        control: (payload) => {
          const message = payload as KafkaFeedControl;
          if (message.op === 'seek') control.seek(message.position);
          else if (message.op === 'taken') {
            if (credit.taken(partitionKey(message.partition.topic, message.partition.partition), message.bytes)) control.resume([message.partition]);
          } else if (message.op === 'pause') {
            for (const tp of message.partitions) credit.readerPause(partitionKey(tp.topic, tp.partition));
            control.pause(message.partitions);
          } else {
            const resumable = message.partitions.filter((tp) => credit.readerResume(partitionKey(tp.topic, tp.partition)));
            if (resumable.length > 0) control.resume(resumable);
          }
        },
        detach: () => control.detach(),
        commit: (positions) => control.commit(Object.entries(positions).map(([split, offset]) => ({ ...parsePartitionKey(split), offset: String(offset) }))),
      };
    },
  };

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.reader = undefined;
    this.mailbox.wakeAll();
    await this.consumer.stop();
  }

  private onAssignment(partitions: readonly TopicPartition[]): void {
    const mine = partitions.filter((tp) => tp.topic === this.topic);
    // Nothing is read before the run restored where each partition stands.
    this.consumer.pause(mine);
    const generation = this.mailbox.put(mine.map((tp) => partitionKey(tp.topic, tp.partition)));
    this.logger.info({ generation, partitions: mine.map((tp) => tp.partition) }, 'partitions assigned');
  }

  private async onRebalance(): Promise<void> {
    // From here on nothing of the old assignment may be read: the next run starts from what the hand-over committed.
    this.mailbox.revoke();
    const handler = this.revokeHandler;
    if (handler === undefined || this.left) return;
    await handler();
  }

}
