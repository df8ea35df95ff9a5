import type { ConnectionPool, Consumer, ClusterMetadata } from '@platformatic/kafka';
import type { Logger } from '../../runtime/logger.js';
import type { Clock } from '../../runtime/time/clock.js';
import type { ConsumedBatch, TopicPartition } from './kafka-client.js';
import { partitionKey } from './kafka-positions.js';
import { hasProtocolError } from './platformatic-group-requests.js';
import { decodeRecords } from './platformatic-record-batches.js';

/** Fetch sizing of a {@link PlatformaticFetcher}. */
export interface FetcherOptions {
  /** How long the broker may hold a fetch when there is no data, ms. */
  readonly maxWaitTimeMs: number;
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
  /** Kafka's isolation level: 1 = read committed (kafkajs' default too). */
  readonly isolationLevel: number;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to fetch; undefined until sought (or taken from the group's committed offset). */
  position: number | undefined;
  /** Counts seeks: a fetch issued before the latest seek is stale. */
  seeks: number;
}

interface Requested {
  readonly state: PartitionState;
  readonly offset: number;
  readonly seeks: number;
}

/** Kafka's special ListOffsets timestamps. */
const LATEST = -1n;
const EARLIEST = -2n;

/**
 * Our own fetch loop over @platformatic/kafka's low-level `Consumer.fetch` (its MessagesStream
 * pushes one object per record into a Node stream; the source pulls batches and pauses whole
 * partitions instead). One fetch per leader at a time on a connection pool of its own — a fetch
 * waiting `maxWaitTimeMs` on the broker must not delay heartbeats and commits. Batches go out
 * per partition; nothing of a partition that is paused, sought elsewhere or revoked meanwhile
 * is delivered, and its position does not move (it is fetched again).
 */
export class PlatformaticFetcher {
  private readonly partitions = new Map<string, PartitionState>();
  /** Kept across assignments, as kafkajs keeps a partition's pause. */
  private readonly paused = new Set<string>();
  /** Raised when a join starts or an assignment arrives: fetches issued before are stale. */
  private generation = 0;
  /** Nothing is fetched while the group (re)joins: until the first assignment, and during every rebalance. */
  private held = true;
  private stopped = false;
  private failures = 0;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly pool: ConnectionPool,
    private readonly options: FetcherOptions,
    private readonly deliver: (batch: ConsumedBatch) => void,
    private readonly fail: (error: Error) => void,
    private readonly logger: Logger | undefined,
    private readonly clock: Clock,
  ) {}

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))));
  }

  /** Ends the loop; resolves once no fetch is in flight any more (or its answer will be ignored). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp();
    await this.loop;
  }

  /** A (re)join begins: stop fetching, drop what is in flight. */
  hold(): void {
    this.held = true;
    this.generation++;
  }

  /** The group's new assignment; positions start unknown until sought. */
  assign(assignment: readonly TopicPartition[]): void {
    this.generation++;
    this.partitions.clear();
    for (const { topic, partition } of assignment) this.partitions.set(partitionKey(topic, partition), { topic, partition, position: undefined, seeks: 0 });
  }

  /** The assignment is in force (its handler ran): fetch again. */
  release(): void {
    this.held = false;
    this.wakeUp();
  }

  seek(topic: string, partition: number, offset: number): void {
    const state = this.partitions.get(partitionKey(topic, partition));
    if (state === undefined) return;
    state.position = offset;
    state.seeks++;
    this.wakeUp();
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.add(partitionKey(topic, partition));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.delete(partitionKey(topic, partition));
    this.wakeUp();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const ready = this.held ? [] : [...this.partitions.values()].filter((s) => !this.paused.has(partitionKey(s.topic, s.partition)));
      if (ready.length === 0) {
        await this.sleep(this.options.maxWaitTimeMs);
        continue;
      }
      try {
        await this.resolvePositions(ready.filter((s) => s.position === undefined));
        await this.fetchOnce(ready);
        this.failures = 0;
      } catch (error) {
        if (this.stopped) break;
        // Bad credentials do not heal by retrying: fail like kafkajs' non-retriable crash.
        if ((error as { findBy?: (p: string, v: unknown) => unknown }).findBy?.('code', 'PLT_KFK_AUTHENTICATION')) throw error;
        this.failures++;
        if (this.failures === 1 || this.failures % 10 === 0) this.logger?.warn({ err: error, failures: this.failures }, 'fetching from Kafka failed; retrying');
        this.consumer.clearMetadata();
        await this.sleep(Math.min(5_000, 200 * 2 ** Math.min(this.failures, 5)));
      }
    }
  }

  /** Partitions without a position start at the group's committed offset, else at the end (as kafkajs without fromBeginning). */
  private async resolvePositions(states: readonly PartitionState[]): Promise<void> {
    for (const [topic, list] of byTopic(states)) {
      const partitions = list.map((s) => s.partition);
      const committed = (await this.consumer.listCommittedOffsets({ topics: [{ topic, partitions }] })).get(topic) ?? [];
      const latest = (await this.consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, timestamp: LATEST })).get(topic) ?? [];
      for (const state of list) {
        if (state.position !== undefined) continue; // sought meanwhile
        const offset = committed[state.partition];
        state.position = Number(offset !== undefined && offset >= 0n ? offset : (latest[state.partition] ?? 0n));
      }
    }
  }

  private async fetchOnce(ready: readonly PartitionState[]): Promise<void> {
    const generation = this.generation;
    const metadata = await this.consumer.metadata({ topics: [...new Set(ready.map((s) => s.topic))] });
    const byLeader = new Map<number, PartitionState[]>();
    for (const state of ready) {
      const leader = metadata.topics.get(state.topic)?.partitions[state.partition]?.leader;
      if (state.position === undefined || leader === undefined || leader < 0) continue;
      const list = byLeader.get(leader);
      if (list) list.push(state);
      else byLeader.set(leader, [state]);
    }
    if (byLeader.size === 0) throw new Error('no partition leader is known; refreshing the metadata');
    // Settled, not raced: a failed leader must not start the next round while another's fetch is still in flight.
    const results = await Promise.allSettled([...byLeader].map(([leader, states]) => this.fetchFrom(leader, states, metadata, generation)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private async fetchFrom(leader: number, states: readonly PartitionState[], metadata: ClusterMetadata, generation: number): Promise<void> {
    const requested = new Map<string, Requested>();
    const topicNames = new Map<string, string>();
    const topics: { topicId: string; partitions: { partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }[] }[] = [];
    for (const [topic, list] of byTopic(states)) {
      const topicId = metadata.topics.get(topic)!.id;
      topicNames.set(topicId, topic);
      topics.push({
        topicId,
        partitions: list.map((state) => {
          requested.set(partitionKey(topic, state.partition), { state, offset: state.position!, seeks: state.seeks });
          return { partition: state.partition, fetchOffset: BigInt(state.position!), partitionMaxBytes: this.options.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 };
        }),
      });
    }
    let response;
    try {
      response = await this.consumer.fetch({
        node: leader,
        topics,
        maxWaitTime: this.options.maxWaitTimeMs,
        minBytes: 1,
        maxBytes: this.options.maxBytes,
        isolationLevel: this.options.isolationLevel,
        connectionPool: this.pool,
      });
    } catch (error) {
      if (!hasProtocolError(error, 'OFFSET_OUT_OF_RANGE')) throw error;
      await this.resetOutOfRange([...requested.values()]);
      return;
    }
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const p of topicResponse.partitions) {
        if (this.stopped || generation !== this.generation) return;
        const key = partitionKey(topic, p.partitionIndex);
        const request = requested.get(key);
        if (request === undefined) continue;
        const { state } = request;
        if (this.partitions.get(key) !== state || state.seeks !== request.seeks || this.paused.has(key)) continue;
        const { messages, next } = decodeRecords(p.records, request.offset);
        if (next > request.offset) state.position = next;
        if (messages.length === 0) continue;
        try {
          this.deliver({ topic, partition: p.partitionIndex, messages, highWatermark: String(p.highWatermark) });
        } catch (error) {
          this.stopped = true;
          this.fail(error instanceof Error ? error : new Error(String(error)));
          return;
        }
      }
    }
  }

  /**
   * A position outside the log (retention deleted it, or beyond the end): continue at the log
   * start or end, as a consumer with auto.offset.reset does, and say so.
   */
  private async resetOutOfRange(requested: readonly Requested[]): Promise<void> {
    for (const [topic, list] of byTopic(requested.map((r) => r.state))) {
      const partitions = list.map((s) => s.partition);
      const lows = (await this.consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, timestamp: EARLIEST })).get(topic) ?? [];
      const highs = (await this.consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, timestamp: LATEST })).get(topic) ?? [];
      for (const request of requested) {
        const { state } = request;
        if (state.topic !== topic || state.seeks !== request.seeks || state.position === undefined) continue;
        const low = Number(lows[state.partition] ?? 0n);
        const high = Number(highs[state.partition] ?? 0n);
        const reset = state.position < low ? low : state.position > high ? high : undefined;
        if (reset === undefined) continue;
        this.logger?.warn({ topic, partition: state.partition, position: state.position, low, high, reset }, 'fetch position out of range; continuing at the nearest end of the log');
        state.position = reset;
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        timer.cancel();
        this.wake = undefined;
        resolve();
      };
    });
  }

  private wakeUp(): void {
    this.wake?.();
  }
}

function byTopic<S extends { readonly topic: string }>(states: readonly S[]): Map<string, S[]> {
  const map = new Map<string, S[]>();
  for (const state of states) {
    const list = map.get(state.topic);
    if (list) list.push(state);
    else map.set(state.topic, [state]);
  }
  return map;
}
