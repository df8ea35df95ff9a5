/**
 * Avro schemas for Iceberg primitive types (spec Appendix A, "Avro"), used for the partition tuple
 * struct inside manifests. Optional fields become `["null", T]` unions defaulting to null.
 */
import type { IcebergType } from '../schema.js';
import { decimalParameters, fixedLength } from '../type-parameters.js';

/** Minimum bytes for a two's-complement unscaled decimal of `precision` digits. */
export function decimalRequiredBytes(precision: number): number {
  let bytes = 1;
  while (Math.pow(2, 8 * bytes - 1) - 1 < Math.pow(10, precision) - 1) bytes++;
  return bytes;
}

/** The Avro schema for an Iceberg primitive; `name` keeps generated fixed types unique in a record. */
export function avroPrimitiveSchema(type: IcebergType, name: string): unknown {
  if (typeof type !== 'string') throw new Error(`nested type ${type.type} is not supported in a partition tuple`);
  switch (type) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return type;
    case 'binary':
      return 'bytes';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time':
      return { type: 'long', logicalType: 'time-micros' };
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false };
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true };
    case 'uuid':
      return { type: 'fixed', name: `uuid_fixed_${name}`, size: 16, logicalType: 'uuid' };
  }
  const decimal = decimalParameters(type);
  if (decimal) {
    return {
      type: 'fixed',
      name: `decimal_${decimal.precision}_${decimal.scale}_${name}`,
      size: decimalRequiredBytes(decimal.precision),
      logicalType: 'decimal',
      precision: decimal.precision,
      scale: decimal.scale,
    };
  }
  const length = fixedLength(type);
  if (length !== undefined) return { type: 'fixed', name: `fixed_${name}`, size: length };
  throw new Error(`unsupported Iceberg type '${type}'`);
}

/** Avro field names must match [A-Za-z_][A-Za-z0-9_]*; other characters are hex-escaped (readers match by field id). */
export function avroFieldName(name: string): string {
  let out = '';
  for (const [i, ch] of [...name].entries()) {
    const ok = /[A-Za-z_]/.test(ch) || (i > 0 && /[0-9]/.test(ch));
    out += ok ? ch : `_x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
  }
  return out;
}
