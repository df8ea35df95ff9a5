import type { ProducedMessage } from './kafka-client.js';

/**
 * Dead-letter records sized for the broker: a produce request's record batch must not exceed
 * the topic's `max.message.bytes` (broker `message.max.bytes`, 1 048 588 by default), or the
 * whole batch is rejected. Sizes are estimated from the uncompressed record format v2 with
 * every varint at its widest, so an estimate is never below the real size.
 */

/** Kafka's default `message.max.bytes` less a margin: what one batch of dead letters may take by default. */
export const DEFAULT_DLQ_MAX_BATCH_BYTES = 1_000_000;

/** Header on a dead letter whose key, value or detail was cut to fit: what was cut and its original size, e.g. `value:2097152`. */
export const TRUNCATED_HEADER = 'streamline.dlq.truncated';

/** Record batch header (v2): base offset … records count. */
const BATCH_OVERHEAD = 61;
/** Per record: length, attributes, timestamp and offset deltas, key and value lengths, header count (varints at their widest). */
const RECORD_OVERHEAD = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Per header: key and value lengths. */
const HEADER_OVERHEAD = 10;
/** Longest detail text kept; the detail describes the failure, it never needs the record itself. */
const MAX_DETAIL_BYTES = 4_096;

/** Estimated bytes of one record in a batch (never below the real size). */
export function recordBytes(message: ProducedMessage): number {
  let bytes = RECORD_OVERHEAD + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += HEADER_OVERHEAD + Buffer.byteLength(name) + byteLength(value);
  return bytes;
}

/**
 * Cuts what does not fit into one batch of `maxBatchBytes`: the detail header to 4 KiB, then the
 * value, then the key; every other header (reason, step, origin topic/partition/offset) is kept
 * whole, and TRUNCATED_HEADER says what was cut and how long it was.
 */
export function fitDeadLetter(message: ProducedMessage, maxBatchBytes: number, detailHeader: string): ProducedMessage {
  const limit = maxBatchBytes - BATCH_OVERHEAD;
  if (recordBytes(message) <= limit && byteLength(message.headers?.[detailHeader]) <= MAX_DETAIL_BYTES) return message;
  const cut: string[] = [];
  const headers: Record<string, string | Buffer> = { ...(message.headers ?? {}) };
  const detail = headers[detailHeader];
  if (detail !== undefined && byteLength(detail) > MAX_DETAIL_BYTES) {
    cut.push(`detail:${byteLength(detail)}`);
    headers[detailHeader] = truncate(detail, MAX_DETAIL_BYTES) ?? '';
  }
  // Room for the marker header itself (three entries of at most 30 bytes each).
  const marker = HEADER_OVERHEAD + Buffer.byteLength(TRUNCATED_HEADER) + 100;
  let value = message.value;
  let key = message.key;
  const fixed = () => recordBytes({ key: null, value: null, headers }) + marker;
  const valueRoom = limit - fixed() - byteLength(key);
  if (byteLength(value) > Math.max(0, valueRoom)) {
    cut.push(`value:${byteLength(value)}`);
    value = truncate(value, Math.max(0, valueRoom));
  }
  const keyRoom = limit - fixed() - byteLength(value);
  if (byteLength(key) > Math.max(0, keyRoom)) {
    cut.push(`key:${byteLength(key)}`);
    key = truncate(key, Math.max(0, keyRoom));
  }
  if (cut.length > 0) headers[TRUNCATED_HEADER] = cut.join(',');
  const fitted: ProducedMessage = { ...message, key, value, headers };
  if (recordBytes(fitted) > limit) throw new RangeError(`a dead letter's headers alone exceed the batch limit of ${maxBatchBytes} bytes`);
  return fitted;
}

/** Splits messages, in order, into batches of at most `maxBatchBytes` each (every message must fit alone: see fitDeadLetter). */
export function batchDeadLetters(messages: readonly ProducedMessage[], maxBatchBytes: number): ProducedMessage[][] {
  const batches: ProducedMessage[][] = [];
  let batch: ProducedMessage[] = [];
  let bytes = BATCH_OVERHEAD;
  for (const message of messages) {
    const size = recordBytes(message);
    if (batch.length > 0 && bytes + size > maxBatchBytes) {
      batches.push(batch);
      batch = [];
      bytes = BATCH_OVERHEAD;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
}

/** The first `bytes` bytes (a cut UTF-8 character stays cut: the record is marked truncated anyway). */
function truncate(value: string | Buffer | null | undefined, bytes: number): Buffer | null {
  if (value === null || value === undefined) return null;
  const buffer = typeof value === 'string' ? Buffer.from(value) : value;
  return buffer.subarray(0, bytes);
}
