import type { Collector, Operator } from '../runtime/operator.js';
import { RecordFailureHandler } from './record-failure-handler.js';

/**
 * Maps every record to zero or more records. A record on which `fn` throws becomes a dead
 * letter; what it produced before throwing is discarded with it.
 *
 * @example stream.flatMap('explode-items', (order) => order.items)
 */
export function flatMapOperator<I, O>(fn: (record: I) => Iterable<O>): Operator<I, O> {
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
          const produced = [...fn(record)];
          for (let j = 0; j < produced.length; j++) result.push(produced[j] as O);
        } catch (error) {
          failures.reject(record, error);
        }
      }
      if (result.length > 0) out.emit(result);
    },
  };
}
