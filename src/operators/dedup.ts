import type { Operator } from '../runtime/operator.js';
import { JobDefinitionError } from '../errors.js';
import { keyedProcessOperator } from './keyed-process.js';

/** Side-output tag of the records {@link dedupOperator} drops (when `emitDuplicates`). */
export const DUPLICATES_TAG = 'duplicates';

/** Options of {@link dedupOperator}. */
export interface DedupOptions {
  /** A key seen less than this long ago (processing time, since its first sighting) is a duplicate. */
  readonly ttlMs: number;
  /** Send duplicates to the side output `'duplicates'` instead of only counting them. */
  readonly emitDuplicates?: boolean;
}

/** {@link dedupOperator}'s operator, with its duplicate count (since this process started). */
export interface DedupOperator<T> extends Operator<T, T> {
  readonly duplicates: number;
}

/**
 * Drops records whose key (from the preceding `keyBy`) was already seen within `ttlMs`. The window
 * starts at a key's first sighting and is not extended by duplicates, so a key re-emits at most
 * once per TTL. Seen keys are keyed state with TTL: snapshotted with the checkpoint, so dedup
 * holds across restarts, and expired keys leave the state at the next snapshot.
 *
 * @example stream.keyBy((e) => e.eventId).apply('dedup', () => dedupOperator({ ttlMs: 3_600_000 }))
 */
export function dedupOperator<T>(options: DedupOptions): DedupOperator<T> {
  if (!(options.ttlMs > 0)) throw new JobDefinitionError(`dedup: ttlMs must be > 0, got ${options.ttlMs}`);
  let duplicates = 0;
  const emitDuplicates = options.emitDuplicates ?? false;
  const inner = keyedProcessOperator<T, T, { get(): 1 | undefined; set(v: 1): void }>({
    declareState: (backend) => backend.valueState<1>({ name: 'dedup-seen', ttlMs: options.ttlMs }),
    process(record, seen, out) {
      if (seen.get() === undefined) {
        seen.set(1);
        out.emit(record);
        return;
      }
      duplicates++;
      if (emitDuplicates) out.side(DUPLICATES_TAG, record);
    },
  });
  return {
    open: (ctx, restored) => inner.open(ctx, restored),
    processBatch: (records, out) => inner.processBatch(records, out),
    get duplicates() {
      return duplicates;
    },
  };
}
