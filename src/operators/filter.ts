import type { Collector, Operator } from '../runtime/operator.js';
import { RecordFailureHandler } from './record-failure-handler.js';

/**
 * Keeps the records for which `predicate` is true. Dropping by predicate is the user's intent;
 * a record on which the predicate throws becomes a dead letter.
 *
 * @example stream.filter('paid-only', (o) => o.status === 'PAID')
 */
export function filterOperator<T>(predicate: (record: T) => boolean): Operator<T, T> {
  let failures: RecordFailureHandler;
  return {
    open(ctx) {
      failures = new RecordFailureHandler(ctx);
    },
    processBatch(records: readonly T[], out: Collector<T>) {
      const kept: T[] = [];
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as T;
        try {
          if (predicate(record)) kept.push(record);
        } catch (error) {
          failures.reject(record, error);
        }
      }
      if (kept.length > 0) out.emit(kept);
    },
  };
}
