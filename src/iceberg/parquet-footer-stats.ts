/**
 * Column statistics for a manifest entry, read from a written Parquet file's footer (parquet-wasm
 * computes them while writing but does not expose them; the footer is the last chunk it emits).
 * Everything is keyed by Iceberg field id, taken from the footer's own `field_id`s, and bounds
 * are converted to Iceberg's single-value form and truncated as Iceberg's default `truncate(16)`
 * metrics mode does.
 */
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js';
import type { IcebergType, PrimitiveType, Schema } from './schema.js';
import { decimalParameters } from './type-parameters.js';
import { bigIntToMinimalBytes, deserializeSingleValue, truncateLowerBound, truncateUpperBound } from './single-value.js';
import { IcebergError } from '../errors.js';

/** Statistics of one Parquet file, in the DataFile's shape. */
export interface ParquetFooterStats {
  readonly recordCount: number;
  readonly columnSizes: Map<number, number>;
  readonly valueCounts: Map<number, number>;
  readonly nullValueCounts: Map<number, number>;
  readonly lowerBounds: Map<number, Uint8Array>;
  readonly upperBounds: Map<number, Uint8Array>;
  /** Row-group start offsets, ascending. */
  readonly splitOffsets: number[];
  /** Leaf column field ids in footer column order (a column without field_id is skipped). */
  readonly leafFieldIds: number[];
}

/** The bytes are not a Parquet file, or its footer cannot be read. */
export class ParquetFooterError extends IcebergError {
  constructor(message: string) {
    super(message);
  }
}

const enum PhysicalType {
  BOOLEAN = 0,
  INT32 = 1,
  INT64 = 2,
  INT96 = 3,
  FLOAT = 4,
  DOUBLE = 5,
  BYTE_ARRAY = 6,
  FIXED_LEN_BYTE_ARRAY = 7,
}
const REPEATED = 2;

interface Leaf {
  readonly fieldId: number | undefined;
  readonly physicalType: PhysicalType;
  /** Inside a list or map: counts are kept, bounds are not (they would not describe rows). */
  readonly repeated: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- raw Thrift objects from hyparquet */
function leavesOf(schemaElements: any[]): Leaf[] {
  const leaves: Leaf[] = [];
  let index = 1; // element 0 is the root
  const walk = (count: number, repeated: boolean): void => {
    for (let k = 0; k < count; k++) {
      const e = schemaElements[index++];
      const isRepeated = repeated || e.field_3 === REPEATED;
      if (e.field_5 > 0) walk(e.field_5, isRepeated);
      else leaves.push({ fieldId: e.field_9, physicalType: e.field_1, repeated: isRepeated });
    }
  };
  walk(schemaElements[0].field_5 ?? 0, false);
  return leaves;
}

function primitiveTypesById(fields: Schema['fields']): Map<number, PrimitiveType> {
  const types = new Map<number, PrimitiveType>();
  const visit = (id: number, type: IcebergType): void => {
    if (typeof type === 'string') types.set(id, type);
    else if (type.type === 'struct') for (const f of type.fields) visit(f.id, f.type);
    else if (type.type === 'list') visit(type['element-id'], type.element);
    else {
      visit(type['key-id'], type.key);
      visit(type['value-id'], type.value);
    }
  };
  for (const f of fields) visit(f.id, f.type);
  return types;
}

function toNumber(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

/** A Parquet statistics value (plain encoding) → Iceberg single-value bytes, untruncated. */
function toSingleValue(type: PrimitiveType, physical: PhysicalType, raw: Uint8Array): Uint8Array | undefined {
  if (decimalParameters(type)) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (physical === PhysicalType.INT32) return bigIntToMinimalBytes(BigInt(view.getInt32(0, true)));
    if (physical === PhysicalType.INT64) return bigIntToMinimalBytes(view.getBigInt64(0, true));
    if (physical === PhysicalType.FIXED_LEN_BYTE_ARRAY || physical === PhysicalType.BYTE_ARRAY) {
      let unscaled = 0n;
      for (const b of raw) unscaled = (unscaled << 8n) | BigInt(b);
      if (raw.length > 0 && raw[0]! & 0x80) unscaled -= 1n << BigInt(8 * raw.length);
      return bigIntToMinimalBytes(unscaled);
    }
    return undefined;
  }
  if (physical === PhysicalType.INT96) return undefined;
  return raw.slice();
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Orders single values of one type (strings/binary/uuid/fixed: unsigned bytes, as Parquet and Iceberg do). */
function compareSingleValues(type: PrimitiveType, a: Uint8Array, b: Uint8Array): number {
  if (type === 'string' || type === 'binary' || type === 'uuid' || type.startsWith('fixed')) return compareBytes(a, b);
  const x = deserializeSingleValue(type, a);
  const y = deserializeSingleValue(type, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Reads the footer of a Parquet file and derives the Iceberg column statistics. `fileEnd` is the
 * whole file or any tail of it that holds the footer (offsets in the footer are absolute).
 */
export function readParquetFooterStats(fileEnd: Uint8Array, schema: Pick<Schema, 'fields'>, options: { truncateLength?: number } = {}): ParquetFooterStats {
  const truncateLength = options.truncateLength ?? 16;
  const view = new DataView(fileEnd.buffer, fileEnd.byteOffset, fileEnd.byteLength);
  if (fileEnd.byteLength < 8 || view.getUint32(fileEnd.byteLength - 4, true) !== 0x31524150) throw new ParquetFooterError('not a Parquet file (no PAR1 footer)');
  const metadataLength = view.getUint32(fileEnd.byteLength - 8, true);
  if (metadataLength > fileEnd.byteLength - 8) throw new ParquetFooterError(`Parquet footer (${metadataLength} bytes) is longer than the ${fileEnd.byteLength - 8} bytes before its length field`);
  const meta: any = deserializeTCompactProtocol({ view, offset: fileEnd.byteLength - 8 - metadataLength });

  const leaves = leavesOf(meta.field_2);
  const types = primitiveTypesById(schema.fields);
  const columnSizes = new Map<number, number>();
  const valueCounts = new Map<number, number>();
  const nullValueCounts = new Map<number, number>();
  const lower = new Map<number, Uint8Array>();
  const upper = new Map<number, Uint8Array>();
  /** Columns where some row group has values but no min/max: no file-level bounds can be claimed. */
  const unbounded = new Set<number>();
  const missingNullCounts = new Set<number>();
  const splitOffsets: number[] = [];

  for (const rowGroup of meta.field_4 ?? []) {
    const chunks: any[] = rowGroup.field_1;
    const first = chunks[0]?.field_3;
    if (first) splitOffsets.push(toNumber(first.field_11 ?? first.field_9));
    chunks.forEach((chunk, c) => {
      const leaf = leaves[c];
      const md = chunk.field_3;
      if (!leaf || leaf.fieldId === undefined || !md) return;
      const id = leaf.fieldId;
      const values = toNumber(md.field_5);
      columnSizes.set(id, (columnSizes.get(id) ?? 0) + toNumber(md.field_7));
      valueCounts.set(id, (valueCounts.get(id) ?? 0) + values);
      const stats = md.field_12;
      if (stats?.field_3 === undefined) missingNullCounts.add(id);
      else nullValueCounts.set(id, (nullValueCounts.get(id) ?? 0) + toNumber(stats.field_3));
      const type = types.get(id);
      if (leaf.repeated || type === undefined) return;
      const min: Uint8Array | undefined = stats?.field_6 ?? stats?.field_2;
      const max: Uint8Array | undefined = stats?.field_5 ?? stats?.field_1;
      const nonNull = values - toNumber(stats?.field_3 ?? 0);
      if (min === undefined || max === undefined) {
        if (nonNull > 0 || stats?.field_3 === undefined) unbounded.add(id);
        return;
      }
      const lo = toSingleValue(type, leaf.physicalType, min);
      const hi = toSingleValue(type, leaf.physicalType, max);
      if (!lo || !hi) {
        unbounded.add(id);
        return;
      }
      const curLo = lower.get(id);
      if (!curLo || compareSingleValues(type, lo, curLo) < 0) lower.set(id, lo);
      const curHi = upper.get(id);
      if (!curHi || compareSingleValues(type, hi, curHi) > 0) upper.set(id, hi);
    });
  }
  for (const id of missingNullCounts) nullValueCounts.delete(id);
  const lowerBounds = new Map<number, Uint8Array>();
  const upperBounds = new Map<number, Uint8Array>();
  for (const [id, lo] of lower) {
    if (unbounded.has(id)) continue;
    const type = types.get(id)!;
    lowerBounds.set(id, truncateLowerBound(type, lo, truncateLength).slice());
    const hi = truncateUpperBound(type, upper.get(id)!, truncateLength);
    if (hi) upperBounds.set(id, hi.slice());
  }
  return {
    recordCount: toNumber(meta.field_3),
    columnSizes,
    valueCounts,
    nullValueCounts,
    lowerBounds,
    upperBounds,
    splitOffsets: splitOffsets.sort((a, b) => a - b),
    leafFieldIds: leaves.flatMap((l) => (l.fieldId === undefined ? [] : [l.fieldId])),
  };
}
