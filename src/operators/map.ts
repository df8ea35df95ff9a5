import type { Collector, Operator } from '../runtime/operator.js';
import { RecordFailureHandler } from './record-failure-handler.js';

/**
 * Applies `fn` to every record; the loop runs over the whole micro-batch, so stream overhead is
 * paid per batch. A record on which `fn` throws becomes a dead letter.
 *
 * @example flow.source('in', src).map('to-cents', (o) => ({ ...o, cents: o.amount * 100 }))
 */
export function mapOperator<I, O>(fn: (record: I) => O): Operator<I, O> {
  let failures: RecordFailureHandler;
  return {
    open(ctx) {
      failures = new RecordFailureHandler(ctx);
    },
    processBatch(records: readonly I[], out: Collector<O>) {
      const result: O[] = [];
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as I;
        try {
          result.push(fn(record));
        } catch (error) {
          failures.reject(record, error);
        }
      }
      if (result.length > 0) out.emit(result);
    },
  };
}
