import type { Operator } from '../operator.js';
import { perRecordOperator } from './per-record-operator.js';

/**
 * Applies `fn` to every record; the loop runs over the whole micro-batch, so stream overhead is
 * paid per batch. A record on which `fn` throws becomes a dead letter.
 *
 * @example flow.source('in', src).map('to-cents', (o) => ({ ...o, cents: o.amount * 100 }))
 */
export function mapOperator<I, O>(fn: (record: I) => O): Operator<I, O> {
  return perRecordOperator<I, O>((record, out) => {
    out.push(fn(record));
  });
}
