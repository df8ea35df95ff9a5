import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { FetchedBatchQueue } from '../../../../src/operators/kafka/fetched-batch-queue.js';
import { packBatch, unpackBatch, type PackedKafkaBatch } from '../../../../src/operators/kafka/kafka-batch-packing.js';
import type { ConsumedBatch, ConsumedMessage } from '../../../../src/operators/kafka/kafka-client.js';

/** What a message says, in plain values: the oracle compares these, read off the original messages. */
function plain(m: ConsumedMessage): { offset: string; timestamp: string; key: string | null; value: string | null } {
  return { offset: m.offset, timestamp: m.timestamp, key: m.key === null ? null : m.key.toString('hex'), value: m.value === null ? null : m.value.toString('hex') };
}

/** A batch as a client delivers it: views into one shared response buffer, some keys and values null or empty. */
function fetchedBatch(firstOffset: number, count: number): ConsumedBatch {
  const response = Buffer.alloc(64 * count + 16, 0xab);
  const messages: ConsumedMessage[] = [];
  let at = 16;
  for (let i = 0; i < count; i++) {
    const keyLength = i % 5 === 0 ? -1 : i % 3;
    const valueLength = i % 7 === 3 ? -1 : (i * 13) % 41;
    const key = keyLength < 0 ? null : response.subarray(at, at + keyLength);
    if (key) for (let b = 0; b < key.length; b++) key[b] = (i + b) & 0xff;
    at += Math.max(0, keyLength);
    const value = valueLength < 0 ? null : response.subarray(at, at + valueLength);
    if (value) for (let b = 0; b < value.length; b++) value[b] = (i * 7 + b * 3) & 0xff;
    at += Math.max(0, valueLength);
    messages.push({ offset: String(firstOffset + i), timestamp: String(1_800_000_000_000 + i * 17), key, value });
  }
  return { topic: 'orders', partition: 4, highWatermark: String(firstOffset + count + 10), messages };
}

/** Sends a packed batch through a real port, transferring its buffers, as the coordinator does. */
async function throughPort(packed: PackedKafkaBatch, transfer: ArrayBuffer[]): Promise<PackedKafkaBatch> {
  const { port1, port2 }: { port1: MessagePort; port2: MessagePort } = new MessageChannel();
  try {
    const received = new Promise<PackedKafkaBatch>((resolve) => port2.once('message', resolve));
    port1.postMessage(packed, transfer);
    return await received;
  } finally {
    port1.close();
    port2.close();
  }
}

describe('packed Kafka batches', () => {
  it('cross a port transferred and read back every message as fetched', async () => {
    const batch = fetchedBatch(2 ** 40, 300);
    const expected = [...batch.messages].map(plain);
    const { packed, transfer } = packBatch(batch);
    const received = unpackBatch(await throughPort(packed, transfer));
    // Transferred, not copied: the sender's arrays are detached.
    assert.equal(packed.data.byteLength, 0);
    assert.equal(packed.offsets.length, 0);
    assert.equal(received.topic, 'orders');
    assert.equal(received.partition, 4);
    assert.equal(received.highWatermark, String(2 ** 40 + 310));
    assert.equal(received.messages.length, 300);
    assert.deepEqual([...received.messages].map(plain), expected);
    assert.deepEqual(Array.from({ length: 300 }, (_, i) => plain(received.messages.at(i)!)), expected);
  });

  it('index and slice as an array does', () => {
    const batch = fetchedBatch(100, 20);
    const array = [...batch.messages];
    const packed = unpackBatch(packBatch(batch).packed).messages;
    for (const index of [0, 5, 19, 20, -1, -20, -21, 1.5]) {
      const want = array.at(index);
      const got = packed.at(index);
      assert.deepEqual(got === undefined ? undefined : plain(got), want === undefined ? undefined : plain(want), `at(${index})`);
    }
    for (const [start, end] of [[0, 20], [3, 9], [-5, undefined], [4, -4], [15, 3], [undefined, undefined], [0, 99]] as const) {
      const got = packed.slice(start, end);
      assert.deepEqual([...got].map(plain), array.slice(start, end).map(plain), `slice(${start}, ${end})`);
      // A slice of a slice reads the same messages as the array's.
      assert.deepEqual([...got.slice(1, -1)].map(plain), array.slice(start, end).slice(1, -1).map(plain), `slice(${start}, ${end}).slice(1, -1)`);
    }
  });

  it('queue as the client arrays do: bounded cut and overlap skipped', () => {
    const fromPacked = new FetchedBatchQueue();
    const fromArrays = new FetchedBatchQueue();
    const deliveries = [fetchedBatch(0, 50), fetchedBatch(40, 30), fetchedBatch(70, 40)];
    for (const delivery of deliveries) {
      const packedDelivery = unpackBatch(packBatch(delivery).packed);
      assert.equal(fromPacked.push(packedDelivery, 100), fromArrays.push(delivery, 100));
    }
    assert.equal(fromPacked.records, 100);
    assert.equal(fromArrays.records, 100);
    const drain = (queue: FetchedBatchQueue) => {
      const offsets: string[] = [];
      for (let batch = queue.peek(); batch !== undefined; batch = queue.peek()) {
        for (let i = batch.next; i < batch.messages.length; i++) offsets.push(batch.messages.at(i)!.offset);
        queue.advance(batch.messages.length);
      }
      return offsets;
    };
    const expected = Array.from({ length: 100 }, (_, i) => String(i));
    assert.deepEqual(drain(fromPacked), expected);
    assert.deepEqual(drain(fromArrays), expected);
  });
});
