/**
 * Reads a Parquet data file back as rows of a table schema, in the value conventions of
 * schema.ts, so that rewriting it (compaction) goes through the same writer as new rows. Columns
 * are matched by Iceberg field id (`PARQUET:field_id`, by name only where a file carries no ids),
 * the way readers project: a column the file predates reads as null, and promoted types are
 * widened (int → long, float → double, a decimal of a smaller precision). Values the Arrow JS
 * getters would round (timestamps, dates, decimals) are taken from the raw buffers.
 *
 * A file is read one row group at a time, so memory holds one row group's rows.
 */
import { DataType, tableFromIPC, TimeUnit, type Field, type Vector } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { PARQUET_FIELD_ID_KEY } from '../arrow-schema.js';
import type { FileIO } from '../file-io.js';
import type { IcebergType, NestedField, Schema } from '../schema.js';
import { IcebergError } from '../../errors.js';

/** A value of row `i` of one column. */
type ValueAt = (i: number) => unknown;

const NULL: ValueAt = () => null;

function fieldId(field: Field): number | undefined {
  const raw = field.metadata.get(PARQUET_FIELD_ID_KEY);
  return raw === undefined ? undefined : Number(raw);
}

/** The index of the source field that holds target field `target` (by id, else by name when the source has no ids). */
function sourceIndex(fields: readonly Field[], target: { readonly id: number; readonly name: string }): number {
  const byId = fields.findIndex((f) => fieldId(f) === target.id);
  if (byId >= 0) return byId;
  return fields.every((f) => fieldId(f) === undefined) ? fields.findIndex((f) => f.name === target.name) : -1;
}

/** Little-endian two's-complement words → bigint. */
function wordsToBigInt(words: Uint32Array, start: number, count: number): bigint {
  let value = 0n;
  for (let w = count - 1; w >= 0; w--) value = (value << 32n) | BigInt(words[start + w]!);
  const bits = BigInt(count * 32);
  return value >= 1n << (bits - 1n) ? value - (1n << bits) : value;
}

const MICROS_PER: Record<number, bigint> = { [TimeUnit.SECOND]: 1_000_000n, [TimeUnit.MILLISECOND]: 1_000n, [TimeUnit.MICROSECOND]: 1n };

class UnreadableColumnError extends IcebergError {}

/** Reader of `vector` as Iceberg type `type` (the table's current type of the column). */
function valueReader(type: IcebergType, vector: Vector | null | undefined, path: string): ValueAt {
  if (vector === null || vector === undefined) return NULL;
  const data = vector.data[0];
  if (data === undefined || vector.data.length !== 1) throw new UnreadableColumnError(`${path}: expected one Arrow chunk per batch, got ${vector.data.length}`);
  const valid = (i: number) => vector.isValid(i);
  const raw = (read: (index: number) => unknown): ValueAt => (i) => (valid(i) ? read(data.offset + i) : null);
  const arrowType = vector.type as DataType;
  if (typeof type !== 'string') {
    switch (type.type) {
      case 'struct':
        return structReader(type.fields, vector, path);
      case 'list': {
        if (!DataType.isList(arrowType)) throw new UnreadableColumnError(`${path}: list column stored as ${String(arrowType)}`);
        const element = valueReader(type.element, vector.getChildAt(0), `${path}[]`);
        const offsets = data.valueOffsets as Int32Array;
        return raw((at) => {
          const out: unknown[] = [];
          for (let k = offsets[at]!; k < offsets[at + 1]!; k++) out.push(element(k));
          return out;
        });
      }
      case 'map': {
        if (!DataType.isMap(arrowType)) throw new UnreadableColumnError(`${path}: map column stored as ${String(arrowType)}`);
        const entries = vector.getChildAt(0);
        const key = valueReader(type.key, entries?.getChildAt(0), `${path}.key`);
        const value = valueReader(type.value, entries?.getChildAt(1), `${path}.value`);
        const offsets = data.valueOffsets as Int32Array;
        return raw((at) => {
          const out = new Map<unknown, unknown>();
          for (let k = offsets[at]!; k < offsets[at + 1]!; k++) out.set(key(k), value(k));
          return out;
        });
      }
    }
  }
  if (type.startsWith('decimal')) {
    if (!DataType.isDecimal(arrowType)) throw new UnreadableColumnError(`${path}: decimal column stored as ${String(arrowType)}`);
    const words = arrowType.bitWidth / 32;
    const values = data.values as Uint32Array;
    return raw((at) => wordsToBigInt(values, at * words, words));
  }
  switch (type) {
    case 'date': {
      if (!DataType.isDate(arrowType)) throw new UnreadableColumnError(`${path}: date column stored as ${String(arrowType)}`);
      const values = data.values as Int32Array | BigInt64Array;
      return raw((at) => (values instanceof Int32Array ? values[at]! : Number((values[at] as bigint) / 86_400_000n)));
    }
    case 'time': {
      if (!DataType.isTime(arrowType)) throw new UnreadableColumnError(`${path}: time column stored as ${String(arrowType)}`);
      const values = data.values as Int32Array | BigInt64Array;
      const unit = arrowType.unit;
      return raw((at) => {
        const v = values[at]!;
        if (typeof v === 'number') return BigInt(v) * (unit === TimeUnit.SECOND ? 1_000_000n : 1_000n);
        return unit === TimeUnit.NANOSECOND ? v / 1_000n : v;
      });
    }
    case 'timestamp':
    case 'timestamptz': {
      if (!DataType.isTimestamp(arrowType)) throw new UnreadableColumnError(`${path}: timestamp column stored as ${String(arrowType)}`);
      const values = data.values as BigInt64Array;
      const unit = arrowType.unit;
      return raw((at) => (unit === TimeUnit.NANOSECOND ? values[at]! / 1_000n : values[at]! * MICROS_PER[unit]!));
    }
    default:
      // boolean, int, long (number or bigint), float, double, string, uuid/fixed/binary bytes: the getters are exact.
      return (i) => (valid(i) ? vector.get(i) : null);
  }
}

function structReader(fields: readonly NestedField[], vector: Vector, path: string): ValueAt {
  if (!DataType.isStruct(vector.type)) throw new UnreadableColumnError(`${path}: struct column stored as ${String(vector.type)}`);
  const sourceFields = (vector.type as DataType & { children: Field[] }).children;
  const readers = fields.map((f) => {
    const index = sourceIndex(sourceFields, f);
    return valueReader(f.type, index < 0 ? undefined : vector.getChildAt(index), `${path}.${f.name}`);
  });
  return (i) => {
    if (!vector.isValid(i)) return null;
    const out: Record<string, unknown> = {};
    fields.forEach((f, k) => (out[f.name] = readers[k]!(i)));
    return out;
  };
}

/**
 * Rows of a Parquet data file as rows of `schema`, one array per row group. Throws
 * IcebergError when a column cannot be read as the schema's type.
 */
export async function* readDataFileRows(io: FileIO, location: string, schema: Schema): AsyncGenerator<Record<string, unknown>[]> {
  // Loaded here, not with the module: every thread that runs a sink imports maintenance, few compact.
  const { readParquet } = await import('parquet-wasm');
  const bytes = await io.read(location);
  const footer = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  for (let group = 0; group < footer.row_groups.length; group++) {
    const wasm = readParquet(bytes, { rowGroups: [group] });
    const table = tableFromIPC(wasm.intoIPCStream());
    for (const batch of table.batches) {
      const readers = schema.fields.map((f) => {
        const index = sourceIndex(batch.schema.fields, f);
        return valueReader(f.type, index < 0 ? undefined : batch.getChildAt(index), `${location}: ${f.name}`);
      });
      const rows: Record<string, unknown>[] = new Array(batch.numRows);
      for (let i = 0; i < batch.numRows; i++) {
        const row: Record<string, unknown> = {};
        for (let k = 0; k < readers.length; k++) row[schema.fields[k]!.name] = readers[k]!(i);
        rows[i] = row;
      }
      yield rows;
    }
  }
}
