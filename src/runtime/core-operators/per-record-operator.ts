import type { Collector, Operator } from '../operator.js';
import { RecordFailureHandler } from '../record-failure-handler.js';

/**
 * Stateless operator built from a per-record step (the core of map, filter and flatMap): the loop
 * runs over the whole micro-batch, so stream overhead is paid per batch, and a record on which
 * `step` throws becomes a dead letter. `step` appends its output to `out`; it must append only
 * once nothing more can throw, so a dead-lettered record leaves no partial output behind.
 */
export function perRecordOperator<I, O>(step: (record: I, out: O[]) => void): Operator<I, O> {
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
          step(record, result);
        } catch (error) {
          failures.reject(record, error);
        }
      }
      if (result.length > 0) out.emit(result);
    },
  };
}
