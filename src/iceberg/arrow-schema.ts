/**
 * Iceberg schema → Arrow schema. Every field, nested children included, carries its Iceberg id
 * as field metadata `PARQUET:field_id`, which parquet-wasm writes into the Parquet schema's
 * `field_id` (so readers resolve columns by id, not by name).
 */
import { Bool, DataType, Date_, DateUnit, Decimal, Field, FixedSizeBinary, Float32, Float64, Int32, Int64, List, Map_, Schema as ArrowSchema, Struct, TimeMicrosecond, TimeUnit, Timestamp, Utf8, Binary } from 'apache-arrow';
import type { IcebergType, NestedField, Schema } from './schema.js';
import { decimalParameters, fixedLength } from './type-parameters.js';

/** Field-metadata key parquet-wasm (arrow-rs) maps to the Parquet `field_id`. */
export const PARQUET_FIELD_ID_KEY = 'PARQUET:field_id';

function idMetadata(id: number): Map<string, string> {
  return new Map([[PARQUET_FIELD_ID_KEY, String(id)]]);
}

/**
 * Arrow type for an Iceberg type. uuid → FixedSizeBinary(16) (Parquet fixed_len_byte_array(16),
 * what pyiceberg and Java read for uuid); time → Time64(µs); timestamp(tz) → Timestamp(µs[, UTC]).
 */
export function toArrowType(type: IcebergType): DataType {
  if (typeof type !== 'string') {
    switch (type.type) {
      case 'struct':
        return new Struct(type.fields.map(toArrowField));
      case 'list':
        return new List(new Field('element', toArrowType(type.element), !type['element-required'], idMetadata(type['element-id'])));
      case 'map': {
        const entries = new Struct([
          new Field('key', toArrowType(type.key), false, idMetadata(type['key-id'])),
          new Field('value', toArrowType(type.value), !type['value-required'], idMetadata(type['value-id'])),
        ]);
        return new Map_(new Field('key_value', entries, false));
      }
    }
  }
  switch (type) {
    case 'boolean':
      return new Bool();
    case 'int':
      return new Int32();
    case 'long':
      return new Int64();
    case 'float':
      return new Float32();
    case 'double':
      return new Float64();
    case 'date':
      return new Date_(DateUnit.DAY);
    case 'time':
      return new TimeMicrosecond();
    case 'timestamp':
      return new Timestamp(TimeUnit.MICROSECOND);
    case 'timestamptz':
      return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
    case 'string':
      return new Utf8();
    case 'uuid':
      return new FixedSizeBinary(16);
    case 'binary':
      return new Binary();
  }
  const decimal = decimalParameters(type);
  if (decimal) return new Decimal(decimal.scale, decimal.precision, 128);
  const length = fixedLength(type);
  if (length !== undefined) return new FixedSizeBinary(length);
  throw new TypeError(`Unknown Iceberg type ${JSON.stringify(type)}`);
}

/** Arrow field for an Iceberg field: nullable unless required, with its field id. */
export function toArrowField(field: NestedField): Field {
  return new Field(field.name, toArrowType(field.type), !field.required, idMetadata(field.id));
}

/** Arrow schema for an Iceberg schema (top-level fields in schema order). */
export function toArrowSchema(schema: Pick<Schema, 'fields'>): ArrowSchema {
  return new ArrowSchema(schema.fields.map(toArrowField));
}
