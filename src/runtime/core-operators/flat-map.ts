import type { Operator } from '../operator.js';
import { perRecordOperator } from './per-record-operator.js';

/**
 * Maps every record to zero or more records. A record on which `fn` throws becomes a dead
 * letter; what it produced before throwing is discarded with it.
 *
 * @example stream.flatMap('explode-items', (order) => order.items)
 */
export function flatMapOperator<I, O>(fn: (record: I) => Iterable<O>): Operator<I, O> {
  return perRecordOperator<I, O>((record, out) => {
    // Drained before appending: an iterable that throws half-way must leave nothing behind.
    const produced = [...fn(record)];
    for (let j = 0; j < produced.length; j++) out.push(produced[j] as O);
  });
}
