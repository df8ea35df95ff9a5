import type { Collector, Operator } from '../runtime/operator.js';
import { CorruptCheckpointError, JobDefinitionError } from '../errors.js';
import type { KeyedStateBackend, MapState, StateKey } from '../runtime/state/keyed-state-backend.js';
import { requireKeyedContext } from './keyed-process.js';
import { RecordFailureHandler } from '../runtime/record-failure-handler.js';

/** Side-output tag of records that arrive for a window that has already fired. */
export const LATE_TAG = 'late';

/** A half-open event-time interval `[start, end)`. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** Incremental aggregation per key and window (Flink's `AggregateFunction`). */
export interface WindowAggregate<T, A, R> {
  create(): A;
  /** Folds one record in; may mutate and return `acc`, or return a new value. Must stay JSON-serializable (bigint ok). */
  add(acc: A, record: T): A;
  /** The window's output when it fires. */
  result(acc: A, key: StateKey, window: TimeWindow): R;
}

/** Options of {@link tumblingEventTimeWindowOperator}. */
export interface TumblingWindowOptions<T, A, R> {
  readonly sizeMs: number;
  /** Shifts window boundaries (e.g. time zones); windows start at `offsetMs + k * sizeMs`. Default 0. */
  readonly offsetMs?: number;
  /** Event time of a record (epoch millis). */
  readonly eventTime: (record: T) => number;
  readonly aggregate: WindowAggregate<T, A, R>;
}

const CONTENTS = 'tumbling-window-contents';
const OPERATOR_STATE_VERSION = 1;

/** Orders keys deterministically whatever their arrival or restore order. */
function compareKeys(a: StateKey, b: StateKey): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : typeof a === 'number' ? -1 : typeof b === 'number' ? 1 : 0;
}

/** Window ends with pending contents → keys, i.e. Flink's event-time timers, rebuilt from keyed state on open. */
class WindowTimers {
  private readonly byEnd = new Map<number, Set<StateKey>>();
  /** Distinct ends, ascending. */
  private ends: number[] = [];

  register(end: number, key: StateKey): void {
    let keys = this.byEnd.get(end);
    if (keys === undefined) {
      keys = new Set();
      this.byEnd.set(end, keys);
      let i = this.ends.length;
      while (i > 0 && (this.ends[i - 1] as number) > end) i--;
      this.ends.splice(i, 0, end);
    }
    keys.add(key);
  }

  /** Removes and returns, in end order, every end ≤ `maxEnd` with its keys sorted. */
  takeDue(maxEnd: number): [number, StateKey[]][] {
    const due: [number, StateKey[]][] = [];
    let n = 0;
    while (n < this.ends.length && (this.ends[n] as number) <= maxEnd) {
      const end = this.ends[n] as number;
      due.push([end, [...(this.byEnd.get(end) ?? [])].sort(compareKeys)]);
      this.byEnd.delete(end);
      n++;
    }
    if (n > 0) this.ends = this.ends.slice(n);
    return due;
  }
}

/**
 * Keyed tumbling event-time windows. Each record is folded into its key's window
 * `[start, start + sizeMs)`; a window fires (emits `aggregate.result`) when the watermark reaches
 * `end - 1`, in order of window end, then key. A record whose window has already fired (its
 * `end - 1 <= watermark`) is late: it goes to the side output `'late'`, never dropped silently.
 * Bounded out-of-orderness is the watermark generator's job upstream. Window contents are keyed
 * state (snapshotted by the runtime); the operator snapshots only its watermark, so records that
 * were late before a restart stay late after it.
 *
 * @example
 * orders.keyBy((o) => o.shop).apply('revenue-per-minute', () => tumblingEventTimeWindowOperator({
 *   sizeMs: 60_000, eventTime: (o) => o.ts,
 *   aggregate: { create: () => 0, add: (sum, o) => sum + o.amount, result: (sum, shop, w) => ({ shop, start: w.start, sum }) },
 * }))
 */
export function tumblingEventTimeWindowOperator<T, A, R>(options: TumblingWindowOptions<T, A, R>): Operator<T, R> {
  const { sizeMs, eventTime, aggregate } = options;
  const offsetMs = options.offsetMs ?? 0;
  if (!Number.isInteger(sizeMs) || sizeMs <= 0) throw new JobDefinitionError(`tumbling window: sizeMs must be a positive integer, got ${sizeMs}`);
  if (!Number.isInteger(offsetMs)) throw new JobDefinitionError(`tumbling window: offsetMs must be an integer, got ${offsetMs}`);

  let backend: KeyedStateBackend;
  let keyOf: (record: T) => StateKey;
  let contents: MapState<number, A>;
  let failures: RecordFailureHandler;
  let watermark = -Infinity;
  const timers = new WindowTimers();

  const fire = (maxEnd: number, out: Collector<R>): void => {
    const results: R[] = [];
    for (const [end, keys] of timers.takeDue(maxEnd)) {
      const start = end - sizeMs;
      for (const key of keys) {
        backend.setCurrentKey(key);
        const acc = contents.get(start);
        if (acc === undefined) continue;
        contents.delete(start);
        results.push(aggregate.result(acc, key, { start, end }));
      }
    }
    if (results.length > 0) out.emit(results);
  };

  return {
    open(ctx, restored) {
      const keyed = requireKeyedContext(ctx, 'tumbling event-time window');
      backend = keyed.keyedState;
      keyOf = keyed.keySelector as (record: T) => StateKey;
      contents = backend.mapState<number, A>({ name: CONTENTS });
      failures = new RecordFailureHandler(ctx);
      if (restored !== undefined) watermark = decodeWatermark(restored);
      // Timers are derived from the (already restored) contents, so they follow key groups on rescale.
      for (const key of [...backend.keys(CONTENTS)]) {
        backend.setCurrentKey(key);
        for (const [start] of contents.entries()) timers.register(start + sizeMs, key);
      }
    },

    processBatch(records, out) {
      let late: T[] | undefined;
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as T;
        try {
          const ts = eventTime(record);
          if (!Number.isFinite(ts)) throw new TypeError(`event time must be a finite number, got ${ts}`);
          const start = ts - (((ts - offsetMs) % sizeMs) + sizeMs) % sizeMs;
          const end = start + sizeMs;
          if (end - 1 <= watermark) {
            (late ??= []).push(record);
            continue;
          }
          const key = keyOf(record);
          backend.setCurrentKey(key);
          let acc = contents.get(start);
          if (acc === undefined) {
            acc = aggregate.create();
            timers.register(end, key);
          }
          contents.set(start, aggregate.add(acc, record));
        } catch (error) {
          failures.reject(record, error);
        }
      }
      if (late !== undefined) out.side(LATE_TAG, late);
    },

    processWatermark(timestamp, out) {
      if (timestamp <= watermark) return;
      watermark = timestamp;
      fire(timestamp + 1, out);
    },

    endOfInput(out) {
      fire(Infinity, out);
    },

    snapshot() {
      return new TextEncoder().encode(JSON.stringify({ version: OPERATOR_STATE_VERSION, watermark: Number.isFinite(watermark) ? watermark : null }));
    },

    // Group mode: window contents move with their keys' splits; the watermark belongs to no split
    // and is learnt again (as in Flink after any restore), so until it catches up a record of an
    // already fired window opens that window again instead of being late.
    operatorStateInGroupMode: 'reset',
  };
}

function decodeWatermark(bytes: Uint8Array): number {
  let doc: { version?: unknown; watermark?: unknown };
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes)) as typeof doc;
  } catch (cause) {
    throw new CorruptCheckpointError(`tumbling window state is not valid JSON: ${(cause as Error).message}`);
  }
  if (doc.version !== OPERATOR_STATE_VERSION) throw new CorruptCheckpointError(`tumbling window state version ${String(doc.version)} is not supported`);
  return typeof doc.watermark === 'number' ? doc.watermark : -Infinity;
}
