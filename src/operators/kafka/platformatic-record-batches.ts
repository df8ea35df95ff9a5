import type { KafkaRecord, RecordsBatch } from '@platformatic/kafka';
import type { ConsumedMessage } from './kafka-client.js';

/** Record-batch attribute bits (Kafka's RecordBatch format v2). */
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
const IS_CONTROL_BATCH = 0x20;

/**
 * One fetched record as our interface shapes it. Offsets and timestamps are turned into strings
 * only when asked: the source reads the offset of a batch's last record and, with Kafka-time
 * watermarks, the timestamp — not those of every record.
 */
class FetchedMessage implements ConsumedMessage {
  constructor(
    private readonly record: KafkaRecord,
    private readonly at: number,
    /** Epoch millis of the batch's first record, or every record's with log-append time. */
    private readonly baseTimestamp: number,
    private readonly logAppendTime: boolean,
  ) {}

  get offset(): string {
    return String(this.at);
  }

  get timestamp(): string {
    return String(this.logAppendTime ? this.baseTimestamp : this.baseTimestamp + Number(this.record.timestampDelta));
  }

  get key(): Buffer | null {
    return this.record.key;
  }

  get value(): Buffer | null {
    return this.record.value;
  }
}

/** What one partition's fetched batches hold from `from` on, and where the next fetch continues. */
export interface DecodedRecords {
  readonly messages: ConsumedMessage[];
  /** Offset after the last batch, control batches included (so a fetch never repeats them). */
  readonly next: number;
}

/**
 * The records of `batches` at or after `from`, in offset order. Control batches (transaction
 * markers) are skipped but still move the position; a batch may start before `from` (the broker
 * returns whole batches), its earlier records are dropped.
 */
export function decodeRecords(batches: readonly RecordsBatch[] | undefined, from: number): DecodedRecords {
  const messages: ConsumedMessage[] = [];
  let next = from;
  for (const batch of batches ?? []) {
    const base = Number(batch.firstOffset);
    const end = base + batch.lastOffsetDelta + 1;
    if (end > next) next = end;
    if ((batch.attributes & IS_CONTROL_BATCH) !== 0) continue;
    const logAppendTime = (batch.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    const baseTimestamp = Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = base + record.offsetDelta;
      if (offset >= from) messages.push(new FetchedMessage(record, offset, baseTimestamp, logAppendTime));
    }
  }
  return { messages, next };
}
