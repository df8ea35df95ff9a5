import type { Operator, OperatorContext } from '../runtime/operator.js';
import { CorruptCheckpointError, JobDefinitionError } from '../errors.js';
import { jsonSerializer, type VersionedSerializer } from '../runtime/serializer.js';
import type { ProcessingTimeAware } from '../runtime/processing-time-aware.js';

/** Options of {@link batchWindowOperator}; at least one trigger is required. */
export interface BatchWindowOptions<T> {
  /** Fire when the batch holds this many records. */
  readonly maxCount?: number;
  /** Fire when the estimated size of the batch reaches this many bytes. */
  readonly maxBytes?: number;
  /** Size of one record for `maxBytes`; default: length of its JSON text (slow; pass one if you can). */
  readonly estimateBytes?: (record: T) => number;
  /** Fire when the oldest record in the batch has waited this long (processing time). */
  readonly maxDelayMs?: number;
  /** How buffered records are stored in a checkpoint; default JSON (bigint-safe). */
  readonly serializer?: VersionedSerializer<T[]>;
}

/** A batch window operator: emits each batch as one output record. */
export type BatchWindowOperator<T> = Operator<T, readonly T[]> & ProcessingTimeAware<readonly T[]>;

const STATE_MAGIC = [0x53, 0x42, 0x57, 0x31]; // "SBW1"

function positive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new JobDefinitionError(`batch window: ${name} must be a positive number, got ${value}`);
}

/**
 * Non-keyed batching: groups records into batches that fire on count, bytes or processing time,
 * whichever comes first — what sinks put in front of their writers. Records buffered at a barrier
 * are part of the operator's snapshot, so no record is lost or duplicated across a restart.
 * Time firing needs the runtime's processing-time hook (see {@link ProcessingTimeAware}); without
 * it, an overdue batch still fires with the next input batch.
 *
 * @example stream.apply('batch', () => batchWindowOperator({ maxCount: 10_000, maxBytes: 8 << 20, maxDelayMs: 5_000, estimateBytes: (r) => r.raw.length }))
 */
export function batchWindowOperator<T>(options: BatchWindowOptions<T>): BatchWindowOperator<T> {
  const { maxCount, maxBytes, maxDelayMs } = options;
  positive('maxCount', maxCount);
  positive('maxBytes', maxBytes);
  positive('maxDelayMs', maxDelayMs);
  if (maxCount === undefined && maxBytes === undefined && maxDelayMs === undefined) {
    throw new JobDefinitionError('batch window: set at least one of maxCount, maxBytes, maxDelayMs');
  }
  const countLimit = maxCount ?? Infinity;
  const bytesLimit = maxBytes ?? Infinity;
  const estimate = maxBytes === undefined ? undefined : (options.estimateBytes ?? ((r: T) => JSON.stringify(r, bigintSafe)?.length ?? 0));
  const serializer = options.serializer ?? jsonSerializer<T[]>(1);

  let ctx: OperatorContext;
  let buffer: T[] = [];
  let bytes = 0;
  /** Processing time the oldest buffered record arrived; undefined when empty. */
  let openedAt: number | undefined;

  const take = (): T[] => {
    const batch = buffer;
    buffer = [];
    bytes = 0;
    openedAt = undefined;
    return batch;
  };
  const overdue = (now: number): boolean => maxDelayMs !== undefined && openedAt !== undefined && now - openedAt >= maxDelayMs;

  return {
    open(context, restored) {
      ctx = context;
      if (restored === undefined) return;
      const state = decodeState(restored, serializer);
      buffer = state.records;
      openedAt = buffer.length > 0 ? state.openedAt : undefined;
      bytes = estimate === undefined ? 0 : buffer.reduce((n, r) => n + estimate(r), 0);
    },

    processBatch(records, out) {
      const fired: T[][] = [];
      const now = ctx.now();
      if (overdue(now)) fired.push(take());
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as T;
        if (openedAt === undefined) openedAt = now;
        buffer.push(record);
        if (estimate !== undefined) bytes += estimate(record);
        if (buffer.length >= countLimit || bytes >= bytesLimit) fired.push(take());
      }
      if (fired.length > 0) out.emit(fired);
    },

    onProcessingTime(now, out) {
      if (buffer.length > 0 && overdue(now)) out.emit([take()]);
    },

    nextProcessingTime() {
      return maxDelayMs === undefined || openedAt === undefined ? undefined : openedAt + maxDelayMs;
    },

    endOfInput(out) {
      if (buffer.length > 0) out.emit([take()]);
    },

    snapshot() {
      const body = serializer.serialize(buffer);
      const out = new Uint8Array(STATE_MAGIC.length + 12 + body.length);
      out.set(STATE_MAGIC, 0);
      const view = new DataView(out.buffer);
      view.setUint32(4, serializer.version);
      view.setFloat64(8, openedAt ?? 0);
      out.set(body, 16);
      return out;
    },
  };
}

function decodeState<T>(bytes: Uint8Array, serializer: VersionedSerializer<T[]>): { records: T[]; openedAt: number } {
  if (bytes.length < 16 || STATE_MAGIC.some((b, i) => bytes[i] !== b)) throw new CorruptCheckpointError('batch window state: bad magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records = serializer.deserialize(view.getUint32(4), bytes.subarray(16));
  if (!Array.isArray(records)) throw new CorruptCheckpointError('batch window state: records are not an array');
  return { records, openedAt: view.getFloat64(8) };
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
