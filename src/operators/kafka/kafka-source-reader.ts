import { StreamlineError } from '../../errors.js';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import type { SourceBatch, SourceContext, SourceReader } from '../../runtime/source.js';
import type { ConsumedBatch, ConsumedMessage, KafkaClient, KafkaConsumerClient, TopicPartition } from './kafka-client.js';
import { createKafkaClient } from './kafka-client-factory.js';
import { ConsumerLag } from './kafka-consumer-lag.js';
import { FetchedBatchQueue } from './fetched-batch-queue.js';
import { jsonDeserializer, type JsonDeserializer } from './json-deserializer.js';
import { parsePartitionKey, partitionKey, type KafkaPositions } from './kafka-positions.js';
import { KafkaReadPositions } from './kafka-read-positions.js';
import { fetchOptions, type KafkaSourceOptions } from './kafka-source-options.js';
import type { PartitionFeedSource } from './kafka-split-group.js';
import { resolvePartitionStarts } from './kafka-start-positions.js';
import { PartitionWatermarks } from './partition-watermarks.js';
import { PendingOffsetCommits } from './pending-offset-commits.js';
import { RejectedRecords } from './rejected-records.js';

/** The consumer operations the reader uses: its own group consumer, or its share of the instance's (group mode). */
type PartitionConsumer = Pick<KafkaConsumerClient, 'seek' | 'pause' | 'resume' | 'commit' | 'stop'>;

type Counter = { inc(value?: number): void };

/**
 * Adapts the client's push delivery to the runtime's pull: fetched batches wait in a bounded
 * queue; when it is full every assigned partition is paused, and `poll` resumes them once the
 * queue has drained to half. Positions advance only in `poll`, so `snapshot` matches the stream.
 * A polled batch holds records of one partition (its split), so keyed state can follow partitions.
 */
export class KafkaSourceReader<T> implements SourceReader<T, KafkaPositions> {
  private readonly capacity: number;
  private readonly maxBatch: number;
  private readonly pollTimeoutMs: number;
  private readonly deserialize: JsonDeserializer<T>;
  private readonly watermarks: PartitionWatermarks | undefined;
  private readonly eventTime: ((record: T, message: ConsumedMessage) => number) | undefined;

  private ctx!: SourceContext;
  private consumer: PartitionConsumer | undefined;
  private readonly queue = new FetchedBatchQueue();
  private positions = new KafkaReadPositions(undefined);
  private assignment: TopicPartition[] = [];
  private assigned = new Set<string>();
  private pausedSince: number | undefined;
  private lag: ConsumerLag | undefined;
  private rejected!: RejectedRecords;
  private readonly pending = new PendingOffsetCommits();
  private fatal: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  private recordsIn!: Counter;
  private backpressure!: Counter;

  constructor(
    private readonly options: KafkaSourceOptions<T>,
    private readonly topic: string,
    /** Where assigned partitions are read from: the instance's group (group mode) or the coordinator's feed (a parallel subtask). */
    private readonly group: () => PartitionFeedSource | undefined = () => undefined,
  ) {
    this.capacity = positive('queueCapacityRecords', options.queueCapacityRecords ?? 50_000);
    this.maxBatch = positive('maxBatchRecords', options.maxBatchRecords ?? 5_000);
    this.pollTimeoutMs = positive('pollTimeoutMs', options.pollTimeoutMs ?? 100);
    this.deserialize = options.deserializer ?? jsonDeserializer<T>({ schema: options.schema, maxRecordBytes: options.maxRecordBytes });
    this.watermarks = options.watermarks ? new PartitionWatermarks(options.watermarks) : undefined;
    const eventTime = options.eventTime ?? 'kafka-timestamp';
    this.eventTime = this.watermarks === undefined ? undefined : eventTime === 'kafka-timestamp' ? (_r, m) => Number(m.timestamp) : (r) => eventTime(r);
  }

  async open(ctx: SourceContext, restored: KafkaPositions | undefined): Promise<void> {
    this.ctx = ctx;
    const labels = { job: ctx.jobName, operator: ctx.stepId };
    this.recordsIn = ctx.metrics.recordsIn.labels(labels);
    this.backpressure = ctx.metrics.kafkaPausedSeconds.labels(labels);
    this.rejected = new RejectedRecords(ctx);

    const client = (this.options.client ?? createKafkaClient)(this.options.config, ctx.logger);
    this.positions = new KafkaReadPositions(restored);
    this.lag = new ConsumerLag(ctx, client, this.topic, { owns: (key) => this.assigned.has(key), position: (key) => this.positions.polledOffset(key) }, this.options.lagRefreshMs ?? 10_000);
    const assignment = ctx.assignment;
    await this.resolveStartOffsets(client, assignment === undefined ? undefined : new Set(assignment.splits));
    ctx.signal.addEventListener('abort', () => this.wakeUp(), { once: true });

    if (assignment !== undefined) {
      const group = this.group();
      if (group === undefined) throw new StreamlineError(`kafka source '${ctx.stepId}': group mode reader opened before the source joined its group`);
      const control = group.attach(assignment.generation, { onBatch: (batch) => this.onBatch(batch), onReassigned: (partitions) => this.onAssignment(partitions) });
      this.consumer = { ...control, stop: async () => control.detach() };
      this.onAssignment(assignment.splits.map(parsePartitionKey));
      ctx.logger.info({ topic: this.topic, groupId: this.options.config.groupId, partitions: assignment.splits.length, restored: restored !== undefined }, 'kafka source reading its assignment');
      return;
    }

    const consumer = client.consumer({
      groupId: this.options.config.groupId,
      topics: [this.topic],
      sessionTimeoutMs: this.options.config.sessionTimeoutMs,
      rebalanceTimeoutMs: this.options.config.rebalanceTimeoutMs,
      ...fetchOptions(this.options),
    });
    this.consumer = consumer;
    await consumer.start({
      onAssignment: (assignment) => this.onAssignment(assignment),
      onBatch: (batch) => this.onBatch(batch),
      onFatal: (error) => {
        this.fatal = error;
        this.wakeUp();
      },
    });
    ctx.logger.info({ topic: this.topic, groupId: this.options.config.groupId, client: client.kind, restored: restored !== undefined }, 'kafka source started');
  }

  /**
   * Where each partition starts when nothing was restored, and a guard against offsets lost to
   * retention. `owned`: the splits of a group-mode run (only they are tracked for watermarks).
   */
  private async resolveStartOffsets(client: KafkaClient, owned: ReadonlySet<string> | undefined): Promise<void> {
    const starts = await resolvePartitionStarts(client, this.topic, this.options.config.startFrom);
    this.positions.applyStarts(this.topic, starts, { owned, stopAtEnd: this.options.config.stopAt === 'end', logger: this.ctx.logger });
    for (const { partition, high, start } of starts) {
      const key = partitionKey(this.topic, partition);
      if (owned === undefined || owned.has(key)) this.watermarks?.assign(key, this.ctx.clock.now(), high - (this.positions.polledOffset(key) ?? start));
    }
  }

  private onAssignment(assignment: readonly TopicPartition[]): void {
    const next = new Set(assignment.map((tp) => partitionKey(tp.topic, tp.partition)));
    const revoked = [...this.assigned].filter((key) => !next.has(key));
    if (revoked.length > 0) this.dropRevoked(new Set(revoked));
    this.assignment = [...assignment];
    this.assigned = next;
    for (const tp of assignment) {
      const key = partitionKey(tp.topic, tp.partition);
      // Records already queued stay valid: continue after them; otherwise from the polled position.
      const offset = this.queue.nextOffset(key) ?? this.positions.continueAt(key);
      this.queue.expect(key, offset);
      this.consumer!.seek({ topic: tp.topic, partition: tp.partition, offset: String(offset) });
      this.watermarks?.assign(key, this.ctx.clock.now());
    }
    // A client may keep a partition's pause across revoke and re-assignment (kafkajs does), while
    // our resume only covers the current assignment: without this, a partition paused, revoked
    // and assigned back would never be read again.
    if (this.pausedSince !== undefined) this.consumer!.pause(this.assignment);
    else if (this.assignment.length > 0) this.consumer!.resume(this.assignment);
    this.ctx.logger.info({ assigned: [...next], revoked }, 'kafka partitions assigned');
  }

  private dropRevoked(revoked: Set<string>): void {
    const dropped = this.queue.drop(revoked);
    for (const key of revoked) {
      this.watermarks?.remove(key);
      this.lag?.remove(key);
    }
    // Positions of revoked partitions stay: they are what the stream has seen so far.
    this.ctx.logger.warn({ revoked: [...revoked], droppedQueuedRecords: dropped }, 'kafka partitions revoked; queued records dropped');
  }

  private onBatch(batch: ConsumedBatch): void {
    const key = partitionKey(batch.topic, batch.partition);
    if (!this.assigned.has(key)) return;
    if (!this.queue.push(batch, this.positions.endOf(key))) return;
    if (this.queue.records >= this.capacity && this.pausedSince === undefined) {
      this.pausedSince = this.ctx.clock.monotonic();
      this.consumer!.pause(this.assignment);
    }
    this.wakeUp();
  }

  async poll(): Promise<SourceBatch<T> | 'idle' | 'end'> {
    if (this.fatal) throw this.fatal;
    if (this.queue.isEmpty && this.positions.reachedEnd()) return 'end';
    if (this.queue.isEmpty) {
      if (this.closed || this.ctx.signal.aborted) return 'idle';
      await new Promise<void>((resolve) => {
        const timer = this.ctx.clock.setTimeout(resolve, this.pollTimeoutMs, { keepAlive: true });
        this.wake = () => {
          timer.cancel();
          resolve();
        };
      });
      this.wake = undefined;
      if (this.fatal) throw this.fatal;
      if (this.queue.isEmpty) return 'idle';
    }
    return this.takeBatch();
  }

  private takeBatch(): SourceBatch<T> {
    const records: T[] = [];
    let letters: DeadLetter[] | undefined;
    let taken = 0;
    const now = this.ctx.clock.now();
    const split = this.queue.peek()!.key;
    for (let batch = this.queue.peek(); taken < this.maxBatch && batch !== undefined && batch.key === split; batch = this.queue.peek()) {
      const messages = batch.messages;
      const end = Math.min(messages.length, batch.next + (this.maxBatch - taken));
      let maxEventTime = Number.NEGATIVE_INFINITY;
      for (let i = batch.next; i < end; i++) {
        const message = messages.at(i)!;
        let record: T;
        try {
          record = this.deserialize(message.value);
        } catch (error) {
          (letters ??= []).push(this.rejected.deadLetter(batch, message, error));
          continue;
        }
        records.push(record);
        if (this.eventTime !== undefined) {
          const ts = this.eventTime(record, message);
          if (ts > maxEventTime) maxEventTime = ts;
        }
      }
      taken += end - batch.next;
      const nextOffset = Number(messages.at(end - 1)!.offset) + 1;
      this.positions.advance(batch.key, nextOffset);
      const lag = Math.max(0, batch.highWatermark - nextOffset);
      this.lag!.set(batch.key, batch.topic, batch.partition, lag);
      this.watermarks?.observe(batch.key, maxEventTime, now, lag);
      this.queue.advance(end);
    }
    // Emitted (valid) records are counted by the runtime's source driver as records out.
    this.recordsIn.inc(taken);
    if (letters !== undefined) this.ctx.deadLetters.send(letters);
    if (this.pausedSince !== undefined && this.queue.records <= this.capacity / 2) {
      this.backpressure.inc((this.ctx.clock.monotonic() - this.pausedSince) / 1000);
      this.pausedSince = undefined;
      this.consumer?.resume(this.assignment);
    }
    const watermark = this.watermarks?.current(now);
    return watermark === undefined ? { records, split } : { records, watermark, split };
  }

  snapshot(checkpointId: number): KafkaPositions {
    const offsets = this.positions.offsets();
    this.pending.add(checkpointId, offsets);
    return { offsets };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    // A completed checkpoint subsumes earlier ones (their notifications may be late or skipped).
    const offsets = this.pending.takeCompleted(checkpointId);
    if (offsets === undefined) return;
    try {
      await this.consumer?.commit(offsets);
    } catch (error) {
      // Only external lag monitoring reads these; the checkpoint holds the truth. The next one retries.
      this.ctx.logger.warn({ checkpointId, err: error }, 'committing offsets to Kafka failed');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp();
    this.queue.clear();
    // The partitions may be read by another instance next (group mode): stop reporting their lag from here.
    const lag = this.lag?.close();
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.stop();
    await lag;
  }

  /** A waiting poll returns now (a barrier or a stop is waiting). */
  wakeup(): void {
    this.wake?.();
  }

  private wakeUp(): void {
    this.wake?.();
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`kafkaSource option ${name} must be a positive number`);
  return value;
}
