import type { ConsumedBatch, ConsumedMessages } from './kafka-client.js';
import { partitionKey } from './kafka-positions.js';

/** A fetched batch waiting to be polled; `next` moves as `poll` hands records out. */
export interface QueuedBatch {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly messages: ConsumedMessages;
  /** Index of the next message to hand out. */
  next: number;
  readonly highWatermark: number;
}

/**
 * The records the client fetched and `poll` has not handed out yet, in arrival order, with the
 * offset each partition's next delivery must start at: a delivery overlapping what is already
 * queued (a seek racing a fetch, a refetch after a pause) is cut to what is new.
 */
export class FetchedBatchQueue {
  private readonly batches: QueuedBatch[] = [];
  private queued = 0;
  /** Next offset after the last record queued: older deliveries are duplicates. */
  private readonly fetched = new Map<string, number>();

  /** Records queued and not yet handed out. */
  get records(): number {
    return this.queued;
  }

  get isEmpty(): boolean {
    return this.batches.length === 0;
  }

  /** Where the next delivery of partition `key` continues, if anything of it was queued or sought. */
  nextOffset(key: string): number | undefined {
    return this.fetched.get(key);
  }

  /** The next delivery of `key` starts at `offset` (a seek). */
  expect(key: string, offset: number): void {
    this.fetched.set(key, offset);
  }

  /**
   * Queues what is new in `batch` (records below `endOffset` only, when given); false when
   * nothing of it was new.
   */
  push(batch: ConsumedBatch, endOffset?: number): boolean {
    const key = partitionKey(batch.topic, batch.partition);
    let messages = batch.messages;
    if (messages.length === 0) return false;
    if (endOffset !== undefined && Number(messages.at(-1)!.offset) >= endOffset) {
      // Bounded: what was produced after the start is not part of the input (offsets ascend).
      let count = 0;
      while (count < messages.length && Number(messages.at(count)!.offset) < endOffset) count++;
      if (count === 0) return false;
      messages = messages.slice(0, count);
    }
    const expected = this.fetched.get(key) ?? 0;
    let first = 0;
    // A delivery may overlap what we already have (seek races, refetch after pause): skip it.
    if (Number(messages.at(0)!.offset) < expected) {
      while (first < messages.length && Number(messages.at(first)!.offset) < expected) first++;
      if (first === messages.length) return false;
    }
    this.fetched.set(key, Number(messages.at(-1)!.offset) + 1);
    this.batches.push({ key, topic: batch.topic, partition: batch.partition, messages, next: first, highWatermark: Number(batch.highWatermark) });
    this.queued += messages.length - first;
    return true;
  }

  /** The oldest batch with records left. */
  peek(): QueuedBatch | undefined {
    return this.batches[0];
  }

  /** The oldest batch was handed out up to message index `end` (exclusive). */
  advance(end: number): void {
    const batch = this.batches[0]!;
    this.queued -= end - batch.next;
    if (end === batch.messages.length) this.batches.shift();
    else batch.next = end;
  }

  /** Drops what is queued of these partitions (revoked) and forgets where they continue; returns the records dropped. */
  drop(keys: ReadonlySet<string>): number {
    let dropped = 0;
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const batch = this.batches[i]!;
      if (!keys.has(batch.key)) continue;
      dropped += batch.messages.length - batch.next;
      this.batches.splice(i, 1);
    }
    this.queued -= dropped;
    for (const key of keys) this.fetched.delete(key);
    return dropped;
  }

  clear(): void {
    this.batches.length = 0;
    this.queued = 0;
  }
}
