/**
 * A fetched Kafka batch as it crosses to a parallel subtask: keys and values copied into one
 * buffer that is transferred, not structured-cloned — a message's Buffer is a view into the
 * client's whole fetch response, and cloning views would copy that response once per message.
 */
import type { ConsumedBatch, ConsumedMessage } from './kafka-client.js';

/** A batch packed for `postMessage` (see module comment). */
export interface PackedKafkaBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly offsets: readonly string[];
  readonly timestamps: readonly string[];
  /** Per message: key length and value length, -1 for null. */
  readonly lengths: Int32Array;
  readonly data: Uint8Array;
}

export function packBatch(batch: ConsumedBatch): { packed: PackedKafkaBatch; transfer: ArrayBuffer[] } {
  const messages = batch.messages;
  const lengths = new Int32Array(messages.length * 2);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const k = m.key?.length ?? -1;
    const v = m.value?.length ?? -1;
    lengths[2 * i] = k;
    lengths[2 * i + 1] = v;
    total += Math.max(0, k) + Math.max(0, v);
  }
  const data = new Uint8Array(new ArrayBuffer(total));
  let at = 0;
  const offsets = new Array<string>(messages.length);
  const timestamps = new Array<string>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.key) {
      data.set(m.key, at);
      at += m.key.length;
    }
    if (m.value) {
      data.set(m.value, at);
      at += m.value.length;
    }
    offsets[i] = m.offset;
    timestamps[i] = m.timestamp;
  }
  return {
    packed: { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, offsets, timestamps, lengths, data },
    transfer: [data.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer],
  };
}

export function unpackBatch(packed: PackedKafkaBatch): ConsumedBatch {
  const buffer = Buffer.from(packed.data.buffer, packed.data.byteOffset, packed.data.byteLength);
  const messages = new Array<ConsumedMessage>(packed.offsets.length);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const k = packed.lengths[2 * i]!;
    const v = packed.lengths[2 * i + 1]!;
    const key = k < 0 ? null : buffer.subarray(at, at + k);
    at += Math.max(0, k);
    const value = v < 0 ? null : buffer.subarray(at, at + v);
    at += Math.max(0, v);
    messages[i] = { offset: packed.offsets[i]!, timestamp: packed.timestamps[i]!, key, value };
  }
  return { topic: packed.topic, partition: packed.partition, highWatermark: packed.highWatermark, messages };
}
