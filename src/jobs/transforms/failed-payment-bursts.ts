import type { Operator } from '../../runtime/operator.js';
import type { MapState } from '../../runtime/state/keyed-state-backend.js';
import { keyedProcessOperator } from '../../operators/keyed-process.js';

/** Options of {@link flagFailedPaymentBursts}. */
export interface FailedPaymentBurstOptions<T> {
  /** Tumbling event-time window size, e.g. 10 minutes. */
  readonly windowMs: number;
  /** More failures than this in one window of one key make the key suspicious in that window. */
  readonly maxFailures: number;
  readonly eventTime: (record: T) => number;
  readonly failed: (record: T) => boolean;
}

/** What the operator adds to each record. */
export interface BurstFlag {
  /** Failed payments of this key in this record's window so far (this record included). */
  readonly window_failures: number;
  readonly suspicious: boolean;
}

/**
 * Flags records of a keyed stream (keyed by order) whose tumbling event-time window
 * `[k·windowMs, (k+1)·windowMs)` has seen more than `maxFailures` failed records of that key.
 *
 * Why a keyed process function and not the tumbling-window operator: a window operator emits
 * when the watermark passes the window's end, so every payment row would wait up to ten minutes
 * of event time (and the last window of a quiet topic would never be written). Here each
 * payment is written at once with the failure count known when it arrives: the failure that
 * crosses the threshold and everything of that order after it in the same window are flagged.
 * Rows written before the threshold was crossed are not rewritten (Iceberg tables here are
 * append-only); `window_failures` shows how far each row was into the burst. For a window with
 * F failures exactly F - maxFailures failed rows are flagged, whatever the arrival order.
 *
 * State: per order, window start → failure count, with a TTL (processing time) of twice the
 * window, so it expires once the window can no longer grow; it moves with key groups.
 */
export function flagFailedPaymentBursts<T extends object>(options: FailedPaymentBurstOptions<T>): Operator<T, T & BurstFlag> {
  const { windowMs, maxFailures, eventTime, failed } = options;
  return keyedProcessOperator<T, T & BurstFlag, MapState<number, number>>({
    declareState: (backend) => backend.mapState<number, number>({ name: 'failures-per-window', ttlMs: 2 * windowMs }),
    process(record, failuresByWindow, out) {
      const ts = eventTime(record);
      const windowStart = ts - (((ts % windowMs) + windowMs) % windowMs);
      let failures = failuresByWindow.get(windowStart) ?? 0;
      if (failed(record)) {
        failures++;
        failuresByWindow.set(windowStart, failures);
      }
      out.emit({ ...record, window_failures: failures, suspicious: failures > maxFailures });
    },
  });
}
