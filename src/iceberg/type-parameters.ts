/**
 * Parameters encoded in Iceberg's primitive type strings (`decimal(P, S)`, `fixed[L]`), parsed once
 * so per-row code never touches the strings.
 */
import type { IcebergType } from './schema.js';

/** Precision and scale of a `decimal(P, S)` type. */
export interface DecimalParameters {
  readonly precision: number;
  readonly scale: number;
}

const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;
const FIXED = /^fixed\[\s*(\d+)\s*\]$/;

/** `decimal(12, 2)` → `{ precision: 12, scale: 2 }`; undefined for any other type. */
export function decimalParameters(type: IcebergType): DecimalParameters | undefined {
  if (typeof type !== 'string') return undefined;
  const m = DECIMAL.exec(type);
  return m ? { precision: Number(m[1]), scale: Number(m[2]) } : undefined;
}

/** `fixed[16]` → 16; undefined for any other type. */
export function fixedLength(type: IcebergType): number | undefined {
  if (typeof type !== 'string') return undefined;
  const m = FIXED.exec(type);
  return m ? Number(m[1]) : undefined;
}
