/**
 * The partition tuple as manifests store it: each partition field's result type (spec
 * "Partition Transforms"), its Avro field, and conversions of {@link PartitionValue}s to Avro
 * values and to single-value binary bounds (spec Appendix D) for manifest-list summaries.
 */
import type { PartitionValue } from './data-file.js';
import type { IcebergType, NestedField, PartitionField, PartitionSpec, Schema } from './schema.js';
import { avroFieldName, avroPrimitiveSchema, decimalRequiredBytes } from './avro/iceberg-avro-type.js';
import { optionalField } from './avro/avro-field.js';
import { decimalParameters } from './type-parameters.js';
import { bigIntToMinimalBytes, minimalBytesToBigInt } from './single-value.js';

/** One field of a spec's partition tuple, resolved against the table schema. */
export interface PartitionTupleField {
  readonly field: PartitionField;
  readonly resultType: IcebergType;
  readonly avroName: string;
}

/** Result type of a transform applied to `sourceType`: day → date; year, month, hour, bucket → int; others keep the source type. */
export function partitionResultType(transform: string, sourceType: IcebergType): IcebergType {
  if (transform === 'day') return 'date';
  if (transform === 'year' || transform === 'month' || transform === 'hour' || transform.startsWith('bucket[')) return 'int';
  return sourceType;
}

function findField(fields: readonly NestedField[], id: number): NestedField | undefined {
  for (const f of fields) {
    if (f.id === id) return f;
    if (typeof f.type === 'object' && f.type.type === 'struct') {
      const nested = findField(f.type.fields, id);
      if (nested) return nested;
    }
  }
  return undefined;
}

/** Resolves every field of `spec` against `schema`. */
export function partitionTuple(spec: PartitionSpec, schema: Schema): PartitionTupleField[] {
  return spec.fields.map((field) => {
    const source = findField(schema.fields, field['source-id']);
    if (!source) throw new Error(`partition field '${field.name}' refers to unknown source column ${field['source-id']}`);
    return { field, resultType: partitionResultType(field.transform, source.type), avroName: avroFieldName(field.name) };
  });
}

/** Avro record schema of the `partition` struct (field id 102), fields carrying partition field ids. */
export function partitionAvroSchema(tuple: readonly PartitionTupleField[]): object {
  return {
    type: 'record',
    name: 'r102',
    fields: tuple.map((t) => optionalField(avroPrimitiveSchema(t.resultType, t.avroName), t.field['field-id'], t.avroName)),
  };
}

function toBigInt(value: PartitionValue): bigint {
  if (typeof value === 'bigint') return value;
  // Decimals arrive as unscaled minimal big-endian two's complement (partition-transform.ts).
  if (value instanceof Uint8Array) return minimalBytesToBigInt(value);
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`cannot use ${String(value)} as an integer partition value`);
}

/** Sign-extended to the fixed size Avro decimals use. */
function twosComplementBigEndian(unscaled: bigint, n: number): Buffer {
  const out = Buffer.alloc(n);
  let v = BigInt.asUintN(8 * n, unscaled);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function uuidBytes(value: PartitionValue): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string') return Buffer.from(value.replace(/-/g, ''), 'hex');
  throw new Error(`cannot use ${String(value)} as a uuid partition value`);
}

/** Converts a partition value to what avsc expects for the field's Avro type. */
export function toAvroPartitionValue(value: PartitionValue, type: IcebergType): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'int':
    case 'date':
      return Number(value);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return toBigInt(value);
    case 'float':
    case 'double':
      return Number(value);
    case 'boolean':
      return Boolean(value);
    case 'string':
      return String(value);
    case 'uuid':
      return uuidBytes(value);
    case 'binary':
      return Buffer.from(value as Uint8Array);
  }
  const decimal = decimalParameters(type);
  if (decimal) return twosComplementBigEndian(toBigInt(value), decimalRequiredBytes(decimal.precision));
  return Buffer.from(value as Uint8Array);
}

/**
 * Converts a decoded Avro partition value back to the conventions of partition-transform.ts:
 * long/time/timestamp → bigint, decimal → minimal unscaled bytes, uuid/binary/fixed → Uint8Array.
 */
export function fromAvroPartitionValue(value: unknown, type: IcebergType): PartitionValue {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) {
    if (decimalParameters(type)) return bigIntToMinimalBytes(minimalBytesToBigInt(new Uint8Array(value)));
    return new Uint8Array(value);
  }
  return value as PartitionValue;
}

/** Single-value binary serialization (spec Appendix D) of a non-null partition value. */
export function partitionValueToBound(value: PartitionValue, type: IcebergType): Uint8Array {
  let buf: Buffer;
  switch (type) {
    case 'boolean':
      buf = Buffer.from([value ? 1 : 0]);
      break;
    case 'int':
    case 'date':
      buf = Buffer.alloc(4);
      buf.writeInt32LE(Number(value));
      break;
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      buf = Buffer.alloc(8);
      buf.writeBigInt64LE(toBigInt(value));
      break;
    case 'float':
      buf = Buffer.alloc(4);
      buf.writeFloatLE(Number(value));
      break;
    case 'double':
      buf = Buffer.alloc(8);
      buf.writeDoubleLE(Number(value));
      break;
    case 'string':
      buf = Buffer.from(String(value), 'utf8');
      break;
    case 'uuid':
      buf = uuidBytes(value);
      break;
    default:
      buf = decimalParameters(type) ? Buffer.from(bigIntToMinimalBytes(toBigInt(value))) : Buffer.from(value as Uint8Array);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Orders two non-null values of the same partition type (strings and bytes by unsigned bytes, as Iceberg does). */
export function comparePartitionValues(a: PartitionValue, b: PartitionValue, type: IcebergType): number {
  if (decimalParameters(type)) return cmp(toBigInt(a), toBigInt(b));
  if (typeof a === 'string' && typeof b === 'string' && type === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  if (a instanceof Uint8Array || b instanceof Uint8Array || type === 'uuid') return Buffer.compare(uuidOrBytes(a), uuidOrBytes(b));
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  return cmp(toBigInt(a), toBigInt(b));
}

function cmp(x: bigint, y: bigint): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function uuidOrBytes(v: PartitionValue): Buffer {
  return v instanceof Uint8Array ? Buffer.from(v) : uuidBytes(v);
}
