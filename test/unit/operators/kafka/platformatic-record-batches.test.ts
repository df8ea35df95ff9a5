import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaRecord, RecordsBatch } from '@platformatic/kafka';
import { decodeRecords } from '../../../../src/operators/kafka/platformatic-record-batches.js';

/** A record batch as the client parses it from a fetch response (Kafka's record batch v2). */
function batch(firstOffset: number, values: readonly string[], options: { attributes?: number; firstTimestamp?: number; maxTimestamp?: number } = {}): RecordsBatch {
  const records: KafkaRecord[] = values.map((value, i) => ({
    length: 0,
    attributes: 0,
    timestampDelta: BigInt(i * 10),
    offsetDelta: i,
    key: Buffer.from(`k${firstOffset + i}`),
    value: Buffer.from(value),
    headers: [],
  }));
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: options.attributes ?? 0,
    lastOffsetDelta: values.length - 1,
    firstTimestamp: BigInt(options.firstTimestamp ?? 1_700_000_000_000),
    maxTimestamp: BigInt(options.maxTimestamp ?? 1_700_000_009_999),
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records,
  };
}

const plain = (messages: ReturnType<typeof decodeRecords>['messages']) =>
  messages.map((m) => ({ offset: m.offset, timestamp: m.timestamp, key: m.key?.toString(), value: m.value?.toString() }));

describe('decodeRecords (@platformatic/kafka fetch → our messages)', () => {
  it('hands out the records at or after the fetch offset, in order, with decimal-string offsets and create-time timestamps', () => {
    const decoded = decodeRecords([batch(10, ['a', 'b', 'c']), batch(13, ['d'])], 11);
    assert.deepEqual(plain(decoded.messages), [
      { offset: '11', timestamp: '1700000000010', key: 'k11', value: 'b' },
      { offset: '12', timestamp: '1700000000020', key: 'k12', value: 'c' },
      { offset: '13', timestamp: '1700000000000', key: 'k13', value: 'd' },
    ]);
    assert.equal(decoded.next, 14);
  });

  it('skips transaction markers (control batches) but moves past them', () => {
    const CONTROL = 0x20;
    const decoded = decodeRecords([batch(0, ['a']), batch(1, ['marker'], { attributes: CONTROL }), batch(2, ['b'])], 0);
    assert.deepEqual(decoded.messages.map((m) => m.value?.toString()), ['a', 'b']);
    assert.equal(decodeRecords([batch(5, ['marker'], { attributes: CONTROL })], 5).next, 6, 'a fetch of markers alone still advances');
  });

  it('with log-append time every record carries the batch time the broker set', () => {
    const LOG_APPEND_TIME = 0x08;
    const decoded = decodeRecords([batch(0, ['a', 'b'], { attributes: LOG_APPEND_TIME, maxTimestamp: 1_800_000_000_000 })], 0);
    assert.deepEqual(decoded.messages.map((m) => m.timestamp), ['1800000000000', '1800000000000']);
  });

  it('nothing fetched: no messages, the position stays', () => {
    assert.deepEqual(decodeRecords(undefined, 42), { messages: [], next: 42 });
    assert.deepEqual(decodeRecords([], 42), { messages: [], next: 42 });
  });
});
