/**
 * The type promotions Iceberg format v1/v2 allows without rewriting data (spec "Schema
 * Evolution"): int → long, float → double, decimal(P, S) → decimal(P', S) with P' > P. Readers
 * widen old files' values on read; nothing else may change a column's type.
 */
import type { PrimitiveType } from './schema.js';
import { decimalParameters } from './type-parameters.js';

/** Whether a column of type `from` may become `to` (a proper widening; equal types are not a promotion). */
export function isPromotion(from: PrimitiveType, to: PrimitiveType): boolean {
  if (from === 'int') return to === 'long';
  if (from === 'float') return to === 'double';
  const a = decimalParameters(from);
  const b = decimalParameters(to);
  return a !== undefined && b !== undefined && a.scale === b.scale && b.precision > a.precision;
}

/** Whether two primitive type strings name the same type (`decimal(12,2)` equals `decimal(12, 2)`). */
export function samePrimitive(a: PrimitiveType, b: PrimitiveType): boolean {
  if (a === b) return true;
  const da = decimalParameters(a);
  const db = decimalParameters(b);
  if (da !== undefined && db !== undefined) return da.precision === db.precision && da.scale === db.scale;
  return a.replace(/\s+/g, '') === b.replace(/\s+/g, '');
}
