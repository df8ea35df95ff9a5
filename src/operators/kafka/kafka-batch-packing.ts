/**
 * A fetched Kafka batch as it crosses to a parallel subtask: keys and values copied into one
 * buffer, offsets and timestamps into typed arrays, all transferred, not structured-cloned — a
 * message's Buffer is a view into the client's whole fetch response, and cloning views would copy
 * that response once per message.
 *
 * The subtask keeps a batch packed until its records are taken (`PackedMessages`): a batch waits in
 * the reader's queue for up to a few hundred milliseconds, and objects made for it on arrival (a
 * message, its two Buffer views and its offset and timestamp strings) lived through young-generation
 * collections and were promoted, ~250 bytes a message of old-generation garbage (BENCHMARKS.md,
 * session 18). Made when taken, they die young.
 */
import type { ConsumedBatch, ConsumedMessage, ConsumedMessages } from './kafka-client.js';

/** A batch packed for `postMessage` (see module comment). */
export interface PackedKafkaBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  /** Per message, as numbers: offsets and timestamps are below 2^53 (the reader counts with Number already). */
  readonly offsets: Float64Array;
  readonly timestamps: Float64Array;
  /** Per message: key length and value length, -1 for null. */
  readonly lengths: Int32Array;
  readonly data: Uint8Array;
}

export function packBatch(batch: ConsumedBatch): { packed: PackedKafkaBatch; transfer: ArrayBuffer[] } {
  const messages = batch.messages;
  const count = messages.length;
  const lengths = new Int32Array(count * 2);
  const offsets = new Float64Array(count);
  const timestamps = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const m = messages.at(i)!;
    const k = m.key?.length ?? -1;
    const v = m.value?.length ?? -1;
    lengths[2 * i] = k;
    lengths[2 * i + 1] = v;
    total += Math.max(0, k) + Math.max(0, v);
  }
  const data = new Uint8Array(new ArrayBuffer(total));
  let at = 0;
  for (let i = 0; i < count; i++) {
    const m = messages.at(i)!;
    if (m.key) {
      data.set(m.key, at);
      at += m.key.length;
    }
    if (m.value) {
      data.set(m.value, at);
      at += m.value.length;
    }
    offsets[i] = Number(m.offset);
    timestamps[i] = Number(m.timestamp);
  }
  return {
    packed: { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, offsets, timestamps, lengths, data },
    transfer: [data.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer, offsets.buffer as ArrayBuffer, timestamps.buffer as ArrayBuffer],
  };
}

/** The batch a subtask received, its messages still packed. */
export function unpackBatch(packed: PackedKafkaBatch): ConsumedBatch {
  const batch = new ReceivedBatch(packed);
  return { topic: packed.topic, partition: packed.partition, highWatermark: packed.highWatermark, messages: new PackedMessages(batch, 0, batch.count) };
}

/** A received packed batch, read by message index: what its list and its messages share. */
class ReceivedBatch {
  readonly count: number;
  private readonly buffer: Buffer;
  /** Where each message's key starts in `data` (its value follows). */
  private readonly starts: Int32Array;

  constructor(private readonly packed: PackedKafkaBatch) {
    this.count = packed.offsets.length;
    // One pass, no object per message.
    this.starts = new Int32Array(this.count);
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      this.starts[i] = at;
      at += Math.max(0, packed.lengths[2 * i]!) + Math.max(0, packed.lengths[2 * i + 1]!);
    }
    this.buffer = Buffer.from(packed.data.buffer, packed.data.byteOffset, packed.data.byteLength);
  }

  offset(i: number): string {
    return String(this.packed.offsets[i]);
  }

  timestamp(i: number): string {
    return String(this.packed.timestamps[i]);
  }

  key(i: number): Buffer | null {
    const k = this.packed.lengths[2 * i]!;
    if (k < 0) return null;
    const start = this.starts[i]!;
    return this.buffer.subarray(start, start + k);
  }

  value(i: number): Buffer | null {
    const v = this.packed.lengths[2 * i + 1]!;
    if (v < 0) return null;
    const start = this.starts[i]! + Math.max(0, this.packed.lengths[2 * i]!);
    return this.buffer.subarray(start, start + v);
  }
}

/** Messages `from` … `from + length - 1` of a received batch; each message object is made when asked for. */
class PackedMessages implements ConsumedMessages {
  constructor(
    private readonly batch: ReceivedBatch,
    private readonly from: number,
    readonly length: number,
  ) {}

  at(index: number): ConsumedMessage | undefined {
    const n = Math.trunc(index) || 0;
    const i = n < 0 ? n + this.length : n;
    if (!(i >= 0 && i < this.length)) return undefined;
    return new PackedMessage(this.batch, this.from + i);
  }

  slice(start = 0, end = this.length): ConsumedMessages {
    const s = clampIndex(start, this.length);
    const e = clampIndex(end, this.length);
    return new PackedMessages(this.batch, this.from + s, Math.max(0, e - s));
  }

  *[Symbol.iterator](): Iterator<ConsumedMessage> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }
}

/** Array.prototype.slice's reading of an index: an integer, negative counting from the end. */
function clampIndex(index: number, length: number): number {
  const n = Math.trunc(index) || 0;
  return n < 0 ? Math.max(0, length + n) : Math.min(n, length);
}

/** Message `i` of a received batch, read when its fields are. */
class PackedMessage implements ConsumedMessage {
  constructor(
    private readonly batch: ReceivedBatch,
    private readonly i: number,
  ) {}

  get offset(): string {
    return this.batch.offset(this.i);
  }

  get timestamp(): string {
    return this.batch.timestamp(this.i);
  }

  get key(): Buffer | null {
    return this.batch.key(this.i);
  }

  get value(): Buffer | null {
    return this.batch.value(this.i);
  }
}
