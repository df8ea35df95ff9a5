import { ConfigError, RecordRejectedError, StreamlineError, type DeadLetterReason } from '../../errors.js';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import type { Logger } from '../../runtime/logger.js';
import type { Source, SourceBatch, SourceContext, SourceReader } from '../../runtime/source.js';
import type { Timer } from '../../runtime/time/clock.js';
import type { ConsumedBatch, ConsumedMessage, KafkaAdminClient, KafkaClient, KafkaConsumerClient, TopicPartition, TopicPartitionOffset } from './kafka-client.js';
import type { KafkaConfig } from './kafka-config.js';
import { kafkaJsClient } from './kafkajs-client.js';
import { jsonDeserializer, type JsonDeserializer, type RecordSchema } from './json-deserializer.js';
import { kafkaPositionsSerializer, kafkaSplitPositions, parsePartitionKey, partitionKey, positionsByPartition, type KafkaPositions } from './kafka-positions.js';
import { KafkaSplitGroup, type PartitionFeedSource } from './kafka-split-group.js';
import { RemoteKafkaGroup } from './remote-kafka-group.js';
import { PartitionWatermarks, type WatermarkOptions } from './partition-watermarks.js';

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
   * Fetch sizing handed to the client. `maxWaitTimeMs` defaults to 500: kafkajs also sleeps that
   * long when every partition is paused, so its default (5 s) would stall the source after a resume.
   */
  readonly fetch?: { readonly maxBytes?: number; readonly maxBytesPerPartition?: number; readonly maxWaitTimeMs?: number };
  /** Client factory; kafkajs by default. */
  readonly client?: (config: KafkaConfig, logger: Logger) => KafkaClient;
  /**
   * How often the consumer lag of every owned partition is refreshed from the broker's end
   * offsets, ms (0: only when a batch is read). Default 10 000 — so lag keeps growing in the
   * metrics while partitions are paused by backpressure, instead of showing the last fetch.
   */
  readonly lagRefreshMs?: number;
}

/**
 * A Kafka topic as a job source: parsed, validated records of type `T`; positions are offsets,
 * splits are partitions. Alone (standby mode) each reader runs its own group consumer; in group
 * mode the instance joins the group once (`joinGroup`) and each run reads its assignment through it.
 */
export function kafkaSource<T>(options: KafkaSourceOptions<T>): Source<T, KafkaPositions> {
  const topic = options.config.topic ?? options.topic;
  if (topic === undefined) throw new ConfigError('KAFKA_TOPIC', 'no topic configured and the job declares none');
  let group: PartitionFeedSource | undefined;
  return {
    kind: 'kafka',
    positionSerializer: kafkaPositionsSerializer,
    splits: kafkaSplitPositions,
    async joinGroup(ctx) {
      const client = (options.client ?? kafkaJsClient)(options.config, ctx.logger);
      const joined = await KafkaSplitGroup.join(client, options.config, topic, ctx.logger.child({ step: ctx.stepId }), fetchOptions(options));
      group = joined;
      return joined;
    },
    useRemoteFeed(feed) {
      group = new RemoteKafkaGroup(feed);
    },
    createReader: () => new KafkaSourceReader<T>(options, topic, () => group),
  };
}

function fetchOptions(options: Pick<KafkaSourceOptions<unknown>, 'fetch'>): { maxBytes?: number; maxBytesPerPartition?: number; maxWaitTimeMs: number } {
  return {
    ...(options.fetch?.maxBytes === undefined ? {} : { maxBytes: options.fetch.maxBytes }),
    ...(options.fetch?.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: options.fetch.maxBytesPerPartition }),
    maxWaitTimeMs: options.fetch?.maxWaitTimeMs ?? 500,
  };
}

/** The consumer operations the reader uses: its own group consumer, or its share of the instance's (group mode). */
type PartitionConsumer = Pick<KafkaConsumerClient, 'seek' | 'pause' | 'resume' | 'commit' | 'stop'>;

interface QueuedBatch {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly ConsumedMessage[];
  /** Index of the next message to hand out. */
  next: number;
  readonly highWatermark: number;
}

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
  private readonly queue: QueuedBatch[] = [];
  private queuedRecords = 0;
  /** Next offset after the last record handed out by `poll` (what a snapshot stores). */
  private readonly polled = new Map<string, number>();
  /** Next offset after the last record queued: older deliveries are duplicates. */
  private readonly fetched = new Map<string, number>();
  private readonly startOffsets = new Map<string, number>();
  /** Bounded mode: per partition, the end offset when the job started. */
  private endOffsets: Map<string, number> | undefined;
  private assignment: TopicPartition[] = [];
  private assigned = new Set<string>();
  private pausedSince: number | undefined;
  private client: KafkaClient | undefined;
  private lagTimer: Timer | undefined;
  private lagAdmin: Promise<KafkaAdminClient> | undefined;
  private readonly pending = new Map<number, TopicPartitionOffset[]>();
  private fatal: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  private recordsIn!: Counter;
  private backpressure!: Counter;
  private readonly deadLetterCounters = new Map<DeadLetterReason, Counter>();
  private readonly lagGauges = new Map<string, { set(value: number): void }>();

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

    const client = (this.options.client ?? kafkaJsClient)(this.options.config, ctx.logger);
    this.client = client;
    for (const [key, offset] of positionsByPartition(restored)) this.polled.set(key, Number(offset));
    const lagRefreshMs = this.options.lagRefreshMs ?? 10_000;
    if (lagRefreshMs > 0) this.lagTimer = ctx.clock.setInterval(() => void this.refreshLag(), lagRefreshMs);
    const assignment = ctx.assignment;
    await this.resolveStartOffsets(client, assignment === undefined ? undefined : new Set(assignment.splits));
    ctx.signal.addEventListener('abort', () => this.wakeUp(), { once: true });

    if (assignment !== undefined) {
      const group = this.group();
      if (group === undefined) throw new StreamlineError(`kafka source '${ctx.stepId}': group mode reader opened before the source joined its group`);
      const control = group.attach(assignment.generation, { onBatch: (batch) => this.onBatch(batch) });
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
    ctx.logger.info({ topic: this.topic, groupId: this.options.config.groupId, restored: restored !== undefined }, 'kafka source started');
  }

  /**
   * Where each partition starts when nothing was restored, and a guard against offsets lost to
   * retention. `owned`: the splits of a group-mode run (only they are tracked for watermarks).
   */
  private async resolveStartOffsets(client: KafkaClient, owned: ReadonlySet<string> | undefined): Promise<void> {
    const admin = await client.admin();
    try {
      const bounds = await admin.partitionBounds(this.topic).catch((error: unknown) => {
        throw new ConfigError('KAFKA_TOPIC', `cannot read topic '${this.topic}': ${error instanceof Error ? error.message : String(error)}`);
      });
      if (bounds.length === 0) throw new ConfigError('KAFKA_TOPIC', `topic '${this.topic}' does not exist`);
      const start = this.options.config.startFrom;
      const byTime = start.kind === 'timestamp' ? await admin.offsetsForTimestamp(this.topic, start.timestamp) : [];
      for (const b of bounds) {
        const key = partitionKey(this.topic, b.partition);
        const low = Number(b.low);
        const high = Number(b.high);
        const offset =
          start.kind === 'earliest' ? low : start.kind === 'latest' ? high : Number(byTime.find((o) => o.partition === b.partition)?.offset ?? low);
        this.startOffsets.set(key, offset);
        if (this.options.config.stopAt === 'end' && (owned === undefined || owned.has(key))) (this.endOffsets ??= new Map()).set(key, high);
        const restored = this.polled.get(key);
        if (restored !== undefined && restored < low) {
          // Retention removed records the checkpoint had not read yet; they are gone, say so loudly.
          this.ctx.logger.error({ topic: this.topic, partition: b.partition, restored, low }, 'restored offset is below the log start; records were lost to retention');
          this.polled.set(key, low);
        }
        if (owned === undefined || owned.has(key)) this.watermarks?.assign(key, this.ctx.clock.now(), high - (this.polled.get(key) ?? offset));
      }
    } finally {
      await admin.disconnect();
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
      let offset = this.fetched.get(key) ?? this.polled.get(key);
      if (offset === undefined) {
        // A partition that appeared after open: start at its beginning (as Flink does for new splits).
        offset = this.startOffsets.get(key) ?? 0;
        this.polled.set(key, offset);
      }
      this.fetched.set(key, offset);
      this.consumer!.seek({ topic: tp.topic, partition: tp.partition, offset: String(offset) });
      this.watermarks?.assign(key, this.ctx.clock.now());
    }
    // kafkajs keeps a partition's pause across revoke and re-assignment, while our resume only
    // covers the current assignment: without this, a partition paused, revoked and assigned back
    // would never be read again.
    if (this.pausedSince !== undefined) this.consumer!.pause(this.assignment);
    else if (this.assignment.length > 0) this.consumer!.resume(this.assignment);
    this.ctx.logger.info({ assigned: [...next], revoked }, 'kafka partitions assigned');
  }

  private dropRevoked(revoked: Set<string>): void {
    let dropped = 0;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const batch = this.queue[i]!;
      if (!revoked.has(batch.key)) continue;
      dropped += batch.messages.length - batch.next;
      this.queue.splice(i, 1);
    }
    this.queuedRecords -= dropped;
    for (const key of revoked) {
      this.fetched.delete(key);
      this.watermarks?.remove(key);
      if (this.lagGauges.delete(key)) {
        const colon = key.lastIndexOf(':');
        this.ctx.metrics.consumerLag.remove({ job: this.ctx.jobName, topic: key.slice(0, colon), partition: key.slice(colon + 1) });
      }
    }
    // Positions of revoked partitions stay in `polled`: they are what the stream has seen so far.
    this.ctx.logger.warn({ revoked: [...revoked], droppedQueuedRecords: dropped }, 'kafka partitions revoked; queued records dropped');
  }

  private onBatch(batch: ConsumedBatch): void {
    const key = partitionKey(batch.topic, batch.partition);
    if (!this.assigned.has(key) || batch.messages.length === 0) return;
    let messages = batch.messages;
    const end = this.endOffsets?.get(key);
    if (end !== undefined && Number(messages[messages.length - 1]!.offset) >= end) {
      // Bounded: what was produced after the start is not part of the input.
      messages = messages.filter((m) => Number(m.offset) < end);
      if (messages.length === 0) return;
    }
    const expected = this.fetched.get(key) ?? 0;
    let first = 0;
    // A delivery may overlap what we already have (seek races, refetch after pause): skip it.
    if (Number(messages[0]!.offset) < expected) {
      while (first < messages.length && Number(messages[first]!.offset) < expected) first++;
      if (first === messages.length) return;
    }
    this.fetched.set(key, Number(messages[messages.length - 1]!.offset) + 1);
    this.queue.push({ key, topic: batch.topic, partition: batch.partition, messages, next: first, highWatermark: Number(batch.highWatermark) });
    this.queuedRecords += messages.length - first;
    if (this.queuedRecords >= this.capacity && this.pausedSince === undefined) {
      this.pausedSince = this.ctx.clock.monotonic();
      this.consumer!.pause(this.assignment);
    }
    this.wakeUp();
  }

  async poll(): Promise<SourceBatch<T> | 'idle' | 'end'> {
    if (this.fatal) throw this.fatal;
    if (this.queue.length === 0 && this.reachedEnd()) return 'end';
    if (this.queue.length === 0) {
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
      if (this.queue.length === 0) return 'idle';
    }
    return this.takeBatch();
  }

  /** Bounded mode: every partition is read up to the end offset it had at the start. */
  private reachedEnd(): boolean {
    const ends = this.endOffsets;
    if (ends === undefined) return false;
    for (const [key, end] of ends) {
      const position = this.polled.get(key) ?? this.startOffsets.get(key) ?? 0;
      if (position < end) return false;
    }
    return true;
  }

  private takeBatch(): SourceBatch<T> {
    const records: T[] = [];
    let letters: DeadLetter[] | undefined;
    let taken = 0;
    const now = this.ctx.clock.now();
    const split = this.queue[0]!.key;
    while (taken < this.maxBatch && this.queue.length > 0 && this.queue[0]!.key === split) {
      const batch = this.queue[0]!;
      const messages = batch.messages;
      const end = Math.min(messages.length, batch.next + (this.maxBatch - taken));
      let maxEventTime = Number.NEGATIVE_INFINITY;
      for (let i = batch.next; i < end; i++) {
        const message = messages[i]!;
        let record: T;
        try {
          record = this.deserialize(message.value);
        } catch (error) {
          (letters ??= []).push(this.deadLetter(batch, message, error));
          continue;
        }
        records.push(record);
        if (this.eventTime !== undefined) {
          const ts = this.eventTime(record, message);
          if (ts > maxEventTime) maxEventTime = ts;
        }
      }
      taken += end - batch.next;
      const nextOffset = Number(messages[end - 1]!.offset) + 1;
      this.polled.set(batch.key, nextOffset);
      const lag = Math.max(0, batch.highWatermark - nextOffset);
      this.lagGauge(batch).set(lag);
      this.watermarks?.observe(batch.key, maxEventTime, now, lag);
      if (end === messages.length) this.queue.shift();
      else batch.next = end;
    }
    this.queuedRecords -= taken;
    // Emitted (valid) records are counted by the runtime's source driver as records out.
    this.recordsIn.inc(taken);
    if (letters !== undefined) this.ctx.deadLetters.send(letters);
    if (this.pausedSince !== undefined && this.queuedRecords <= this.capacity / 2) {
      this.backpressure.inc((this.ctx.clock.monotonic() - this.pausedSince) / 1000);
      this.pausedSince = undefined;
      this.consumer?.resume(this.assignment);
    }
    const watermark = this.watermarks?.current(now);
    return watermark === undefined ? { records, split } : { records, watermark, split };
  }

  private deadLetter(batch: QueuedBatch, message: ConsumedMessage, error: unknown): DeadLetter {
    const reason: DeadLetterReason = error instanceof RecordRejectedError ? error.reason : 'malformed_json';
    let counter = this.deadLetterCounters.get(reason);
    if (counter === undefined) {
      counter = this.ctx.metrics.deadLetters.labels({ job: this.ctx.jobName, operator: this.ctx.stepId, reason });
      this.deadLetterCounters.set(reason, counter);
    }
    counter.inc();
    return {
      reason,
      detail: error instanceof Error ? error.message : String(error),
      step: this.ctx.stepId,
      payload: message.value ?? new Uint8Array(0),
      origin: { topic: batch.topic, partition: batch.partition, offset: message.offset },
      key: message.key,
    };
  }

  private lagGauge(batch: { key: string; topic: string; partition: number }): { set(value: number): void } {
    let gauge = this.lagGauges.get(batch.key);
    if (gauge === undefined) {
      gauge = this.ctx.metrics.consumerLag.labels({ job: this.ctx.jobName, topic: batch.topic, partition: String(batch.partition) });
      this.lagGauges.set(batch.key, gauge);
    }
    return gauge;
  }

  /** Lag of every owned partition from the broker's end offsets: also while nothing is fetched (paused, idle). */
  private async refreshLag(): Promise<void> {
    if (this.closed || this.client === undefined) return;
    try {
      this.lagAdmin ??= this.client.admin();
      const bounds = await (await this.lagAdmin).partitionBounds(this.topic);
      if (this.closed) return;
      for (const { partition, high } of bounds) {
        const key = partitionKey(this.topic, partition);
        const position = this.polled.get(key);
        if (!this.assigned.has(key) || position === undefined) continue;
        this.lagGauge({ key, topic: this.topic, partition }).set(Math.max(0, Number(high) - position));
      }
    } catch (error) {
      this.lagAdmin = undefined;
      this.ctx.logger.debug({ err: (error as Error).message }, 'refreshing the consumer lag failed; retrying at the next interval');
    }
  }

  snapshot(checkpointId: number): KafkaPositions {
    const offsets: TopicPartitionOffset[] = [];
    for (const [key, offset] of this.polled) {
      const colon = key.lastIndexOf(':');
      offsets.push({ topic: key.slice(0, colon), partition: Number(key.slice(colon + 1)), offset: String(offset) });
    }
    this.pending.set(checkpointId, offsets);
    return { offsets };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    // A completed checkpoint subsumes earlier ones (their notifications may be late or skipped).
    let latest: number | undefined;
    for (const id of this.pending.keys()) if (id <= checkpointId && (latest === undefined || id > latest)) latest = id;
    if (latest === undefined) return;
    const offsets = this.pending.get(latest)!;
    for (const id of [...this.pending.keys()]) if (id <= latest) this.pending.delete(id);
    try {
      await this.consumer?.commit(offsets);
    } catch (error) {
      // Only external lag monitoring reads these; the checkpoint holds the truth. The next one retries.
      this.ctx.logger.warn({ checkpointId, err: error }, 'committing offsets to Kafka failed');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lagTimer?.cancel();
    this.wakeUp();
    this.queue.length = 0;
    this.queuedRecords = 0;
    // The partitions may be read by another instance next (group mode): stop reporting their lag from here.
    for (const key of this.lagGauges.keys()) {
      const { topic, partition } = parsePartitionKey(key);
      this.ctx?.metrics.consumerLag.remove({ job: this.ctx.jobName, topic, partition: String(partition) });
    }
    this.lagGauges.clear();
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.stop();
    const lagAdmin = this.lagAdmin;
    this.lagAdmin = undefined;
    await lagAdmin?.then((admin) => admin.disconnect()).catch(() => undefined);
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
