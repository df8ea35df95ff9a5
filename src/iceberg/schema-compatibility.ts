/**
 * Whether rows of a writer's schema fit an existing table's current schema, column by column
 * (top-level columns matched by name; field ids may differ): every written column must be in the
 * table with the same type or one the spec promotes it to (int → long, float → double, decimal
 * precision widening), nothing the writer may leave null may be required, and every required
 * table column must be written.
 */
import type { IcebergType, NestedField, Schema } from './schema.js';

/** What does not fit, one sentence per column; empty when the writer's rows fit the table. */
export function schemaIncompatibilities(table: Schema, written: Schema): string[] {
  const problems: string[] = [];
  const tableColumns = new Map(table.fields.map((f) => [f.name, f]));
  for (const column of written.fields) {
    const existing = tableColumns.get(column.name);
    if (existing === undefined) {
      problems.push(`column '${column.name}' (${typeName(column.type)}) is not in the table, so its values would not be stored`);
      continue;
    }
    if (!writableAs(column.type, existing.type)) {
      problems.push(`column '${column.name}' is ${typeName(existing.type)} in the table, the job writes ${typeName(column.type)}`);
    }
    if (existing.required && !column.required) {
      problems.push(`column '${column.name}' is required in the table but optional in the job: rows without it would be refused`);
    }
  }
  const writtenNames = new Set(written.fields.map((f) => f.name));
  for (const column of table.fields) {
    if (column.required && !writtenNames.has(column.name)) problems.push(`required column '${column.name}' of the table is not written by the job`);
  }
  return problems;
}

/** `string`, `decimal(12, 2)`, `struct<a: int, b: string>`, `list<string>`, `map<string, long>`. */
export function typeName(type: IcebergType): string {
  if (typeof type === 'string') return type;
  if (type.type === 'struct') return `struct<${type.fields.map((f: NestedField) => `${f.name}: ${typeName(f.type)}`).join(', ')}>`;
  if (type.type === 'list') return `list<${typeName(type.element)}>`;
  return `map<${typeName(type.key)}, ${typeName(type.value)}>`;
}

function writableAs(written: IcebergType, table: IcebergType): boolean {
  if (typeof written === 'string' && typeof table === 'string') return written === table || promotes(written, table);
  return typeName(written) === typeName(table);
}

/** Iceberg's allowed type promotions (spec "Schema Evolution"). */
function promotes(from: string, to: string): boolean {
  if (from === 'int' && to === 'long') return true;
  if (from === 'float' && to === 'double') return true;
  const a = /^decimal\((\d+),\s*(\d+)\)$/.exec(from);
  const b = /^decimal\((\d+),\s*(\d+)\)$/.exec(to);
  return a !== null && b !== null && a[2] === b[2] && Number(b[1]) >= Number(a[1]);
}
