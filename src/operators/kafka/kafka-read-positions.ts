import type { Logger } from '../../runtime/logger.js';
import type { TopicPartitionOffset } from './kafka-client.js';
import { parsePartitionKey, partitionKey, positionsByPartition, type KafkaPositions } from './kafka-positions.js';
import type { PartitionStart } from './kafka-start-positions.js';

/**
 * Where a reader stands in each partition: the next offset after the last record `poll` handed
 * out (what a snapshot stores), the start of partitions it never read, and in bounded mode
 * (KAFKA_STOP_AT=end) the end offsets the topic had at the start.
 */
export class KafkaReadPositions {
  private readonly polled = new Map<string, number>();
  private readonly starts = new Map<string, number>();
  private ends: Map<string, number> | undefined;

  constructor(restored: KafkaPositions | undefined) {
    for (const [key, offset] of positionsByPartition(restored)) this.polled.set(key, Number(offset));
  }

  /**
   * Takes the topic's partitions as they are now: where each starts when nothing was restored,
   * its end offset when bounded (only `owned` partitions count, in group mode), and a restored
   * offset below the log start moved up to it (retention deleted those records).
   */
  applyStarts(topic: string, starts: readonly PartitionStart[], options: { owned: ReadonlySet<string> | undefined; stopAtEnd: boolean; logger: Logger }): void {
    for (const { partition, low, high, start } of starts) {
      const key = partitionKey(topic, partition);
      this.starts.set(key, start);
      if (options.stopAtEnd && (options.owned === undefined || options.owned.has(key))) (this.ends ??= new Map()).set(key, high);
      const restored = this.polled.get(key);
      if (restored !== undefined && restored < low) {
        // Retention removed records the checkpoint had not read yet; they are gone, say so loudly.
        options.logger.error({ topic, partition, restored, low }, 'restored offset is below the log start; records were lost to retention');
        this.polled.set(key, low);
      }
    }
  }

  /** Next offset the stream sees of `key`, if it was restored, started or polled. */
  polledOffset(key: string): number | undefined {
    return this.polled.get(key);
  }

  /** Where a newly assigned partition continues: its polled position, else its start (recorded as polled). */
  continueAt(key: string): number {
    let offset = this.polled.get(key);
    if (offset === undefined) {
      // A partition that appeared after open: start at its beginning (as Flink does for new splits).
      offset = this.starts.get(key) ?? 0;
      this.polled.set(key, offset);
    }
    return offset;
  }

  /** Where reading starts in `key` when nothing was restored. */
  startOf(key: string): number | undefined {
    return this.starts.get(key);
  }

  /** `poll` handed records of `key` out up to `offset` (exclusive). */
  advance(key: string, offset: number): void {
    this.polled.set(key, offset);
  }

  /** Bounded mode: the end offset of `key` at the start (later records are not part of the input). */
  endOf(key: string): number | undefined {
    return this.ends?.get(key);
  }

  /** Bounded mode: every partition is read up to the end offset it had at the start. */
  reachedEnd(): boolean {
    const ends = this.ends;
    if (ends === undefined) return false;
    for (const [key, end] of ends) {
      const position = this.polled.get(key) ?? this.starts.get(key) ?? 0;
      if (position < end) return false;
    }
    return true;
  }

  /** Every position, as a checkpoint stores it. */
  offsets(): TopicPartitionOffset[] {
    const offsets: TopicPartitionOffset[] = [];
    for (const [key, offset] of this.polled) offsets.push({ ...parsePartitionKey(key), offset: String(offset) });
    return offsets;
  }
}
