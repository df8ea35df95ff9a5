import type { IcebergType, NestedField, PartitionField, PartitionSpec, Schema, Transform } from './schema.js';

/** A column declaration for {@link tableSchema}. */
export interface ColumnDeclaration {
  readonly type: IcebergType;
  readonly required: boolean;
  readonly doc?: string;
}

/** A required column. */
export function required(type: IcebergType, doc?: string): ColumnDeclaration {
  return { type, required: true, ...(doc ? { doc } : {}) };
}

/** An optional (nullable) column. */
export function optional(type: IcebergType, doc?: string): ColumnDeclaration {
  return { type, required: false, ...(doc ? { doc } : {}) };
}

/**
 * Builds an Iceberg schema from columns in declaration order; field ids are 1..n, so the
 * declaration order is part of the table's identity — append new columns at the end.
 *
 * @example tableSchema({ order_id: required('string'), amount: required('decimal(12, 2)') })
 */
export function tableSchema(columns: Readonly<Record<string, ColumnDeclaration>>): Schema {
  let id = 0;
  const fields: NestedField[] = Object.entries(columns).map(([name, c]) => ({
    id: ++id,
    name,
    required: c.required,
    type: c.type,
    ...(c.doc ? { doc: c.doc } : {}),
  }));
  return { type: 'struct', 'schema-id': 0, fields };
}

/**
 * A partition spec over top-level columns; partition field ids start at 1000 and names follow
 * Iceberg's convention (`created_at_day`, `id_bucket_16`).
 *
 * @example partitionBy(schema, [{ column: 'created_at', transform: 'day' }])
 */
export function partitionBy(schema: Schema, fields: readonly { readonly column: string; readonly transform: Transform; readonly name?: string }[]): PartitionSpec {
  const partitionFields: PartitionField[] = fields.map((f, i) => {
    const source = schema.fields.find((s) => s.name === f.column);
    if (source === undefined) throw new Error(`partition column '${f.column}' is not in the schema (columns: ${schema.fields.map((s) => s.name).join(', ')})`);
    return { 'source-id': source.id, 'field-id': 1000 + i, name: f.name ?? partitionFieldName(f.column, f.transform), transform: f.transform };
  });
  return { 'spec-id': 0, fields: partitionFields };
}

function partitionFieldName(column: string, transform: Transform): string {
  if (transform === 'identity') return column;
  const parameterized = /^(bucket|truncate)\[(\d+)\]$/.exec(transform);
  if (parameterized) return `${column}_${parameterized[1]}_${parameterized[2]}`;
  return `${column}_${transform}`;
}
