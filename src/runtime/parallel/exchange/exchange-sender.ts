/**
 * The sending end of a keyed exchange in one subtask: every record goes to the subtask that owns
 * its key's key group (as Flink's hash partitioner after keyBy), so a key's state lives in one
 * subtask whichever source split its records come from. Control elements (watermarks, barriers,
 * end of input) go to every subtask, in order with the records. Per receiving subtask, at most
 * its credits are in flight; the rest waits in a queue whose length the source's polling
 * respects (`hasRoom`), so a slow receiver backpressures the sources of every subtask feeding it.
 */
import type { Observable } from 'rxjs';
import type { StateKey } from '../../state/keyed-state-backend.js';
import { DEFAULT_MAX_PARALLELISM, hashKey, instanceForKeyGroup } from '../../state/key-group.js';
import { dataBatch, type DataBatch, type StreamElement } from '../../stream-element.js';
import type { ExchangeHub } from './exchange-hub.js';
import { CHANNEL_COMPLETE, CHANNEL_CREDITS, type ChannelElement } from './exchange-wire.js';

/** Elements queued for sending (over all receivers) before the sources stop polling. */
const QUEUE_LIMIT_PER_RECEIVER = 8;

export class ExchangeSender {
  private readonly queues: ChannelElement[][];
  private readonly credits: number[];
  private queued = 0;
  private readonly owner: Uint16Array;
  private readonly limit: number;
  /** Records sent to other subtasks (the rest stayed in this one). */
  sentAway = 0;

  constructor(
    private readonly x: number,
    private readonly key: (record: unknown) => StateKey,
    private readonly hub: ExchangeHub,
    input: Observable<StreamElement<unknown>>,
    fail: (error: unknown) => void,
  ) {
    const n = hub.parallelism;
    this.queues = Array.from({ length: n }, () => []);
    this.credits = new Array<number>(n).fill(CHANNEL_CREDITS);
    this.limit = QUEUE_LIMIT_PER_RECEIVER * n;
    // Key group → owning subtask, computed once (the same ranges as the keyed state backends').
    this.owner = Uint16Array.from({ length: DEFAULT_MAX_PARALLELISM }, (_, group) => instanceForKeyGroup(group, n));
    hub.sender(x, this);
    input.subscribe({
      next: (element) => {
        try {
          this.onElement(element);
        } catch (error) {
          fail(error);
        }
      },
      error: (error) => fail(error),
      complete: () => this.broadcast(CHANNEL_COMPLETE),
    });
  }

  /** False while too much waits for credit: sources should not poll. */
  hasRoom(): boolean {
    return this.queued < this.limit;
  }

  credit(channel: number, n: number): void {
    this.credits[channel]! += n;
    this.flush(channel);
  }

  private onElement(element: StreamElement<unknown>): void {
    if (element.kind === 'data') this.route(element);
    else this.broadcast(element);
  }

  private route(batch: DataBatch<unknown>): void {
    const n = this.queues.length;
    const self = this.hub.self;
    const buckets: (unknown[] | undefined)[] = new Array(n);
    const { key, owner } = this;
    const records = batch.records;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      let target: number;
      try {
        target = owner[hashKey(key(record)) % DEFAULT_MAX_PARALLELISM]!;
      } catch {
        // The keyed step computes the key again and turns the failure into a dead letter.
        target = self;
      }
      (buckets[target] ??= []).push(record);
    }
    for (let t = 0; t < n; t++) {
      const bucket = buckets[t];
      if (bucket === undefined) continue;
      if (t !== self) this.sentAway += bucket.length;
      this.enqueue(t, dataBatch(bucket, batch.split));
    }
  }

  private broadcast(element: ChannelElement): void {
    for (let t = 0; t < this.queues.length; t++) this.enqueue(t, element);
  }

  private enqueue(channel: number, element: ChannelElement): void {
    this.queues[channel]!.push(element);
    this.queued++;
    this.flush(channel);
  }

  private flush(channel: number): void {
    const queue = this.queues[channel]!;
    const n = Math.min(this.credits[channel]!, queue.length);
    if (n === 0) return;
    const elements = n === queue.length ? queue.splice(0) : queue.splice(0, n);
    this.credits[channel]! -= n;
    this.queued -= n;
    this.hub.send(channel, this.x, elements);
  }
}
