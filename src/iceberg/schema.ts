/**
 * Iceberg schema types in the exact JSON shape of the table-metadata spec (format/spec.md,
 * "Schemas" and Appendix C), so metadata files serialize them as they are.
 *
 * Row values handed to writers use these JavaScript representations:
 * boolean → boolean; int → number; long → number | bigint; float/double → number;
 * decimal(P,S) → string ("12.30") | number | bigint (unscaled); date → number (days since epoch)
 * | "YYYY-MM-DD"; time → bigint micros of day; timestamp/timestamptz → Date | number (epoch
 * millis) | bigint (epoch micros) | ISO-8601 string; string → string; uuid → string;
 * fixed/binary → Uint8Array; struct → object; list → array; null/undefined → null.
 */

export type PrimitiveType =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'uuid'
  | 'binary'
  | `decimal(${number}, ${number})`
  | `fixed[${number}]`;

export interface StructType {
  readonly type: 'struct';
  readonly fields: readonly NestedField[];
}

export interface ListType {
  readonly type: 'list';
  readonly 'element-id': number;
  readonly element: IcebergType;
  readonly 'element-required': boolean;
}

export interface MapType {
  readonly type: 'map';
  readonly 'key-id': number;
  readonly key: IcebergType;
  readonly 'value-id': number;
  readonly value: IcebergType;
  readonly 'value-required': boolean;
}

export type IcebergType = PrimitiveType | StructType | ListType | MapType;

export interface NestedField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
  readonly doc?: string;
}

export interface Schema {
  readonly type: 'struct';
  readonly 'schema-id': number;
  readonly 'identifier-field-ids'?: readonly number[];
  readonly fields: readonly NestedField[];
}

/** Partition transforms from the spec: identity, bucket[N], truncate[W], year, month, day, hour, void. */
export type Transform = 'identity' | 'year' | 'month' | 'day' | 'hour' | 'void' | `bucket[${number}]` | `truncate[${number}]`;

export interface PartitionField {
  readonly 'source-id': number;
  /** Partition field ids start at 1000 by convention. */
  readonly 'field-id': number;
  readonly name: string;
  readonly transform: Transform;
}

export interface PartitionSpec {
  readonly 'spec-id': number;
  readonly fields: readonly PartitionField[];
}

export const UNPARTITIONED: PartitionSpec = Object.freeze({ 'spec-id': 0, fields: [] });
