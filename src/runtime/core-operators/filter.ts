import type { Operator } from '../operator.js';
import { perRecordOperator } from './per-record-operator.js';

/**
 * Keeps the records for which `predicate` is true. Dropping by predicate is the user's intent;
 * a record on which the predicate throws becomes a dead letter.
 *
 * @example stream.filter('paid-only', (o) => o.status === 'PAID')
 */
export function filterOperator<T>(predicate: (record: T) => boolean): Operator<T, T> {
  return perRecordOperator<T, T>((record, out) => {
    if (predicate(record)) out.push(record);
  });
}
