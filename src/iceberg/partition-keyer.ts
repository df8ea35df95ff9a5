/**
 * Computes a row's partition tuple for a partition spec and renders it as the Hive-style path
 * Iceberg writers use (`created_at_day=2024-01-05/bucket=3`). Rows with equal tuples share one key
 * string, so the data-file writer can group rows with a Map lookup.
 */
import type { PartitionValue } from './data-file.js';
import type { IcebergType, NestedField, PartitionSpec, Schema } from './schema.js';
import { compileTransform, type CompiledTransform } from './partition-transform.js';
import { IcebergError } from '../errors.js';

/** A row's partition: the tuple values in spec order and a key string identifying the tuple. */
export interface RowPartition {
  readonly key: string;
  readonly values: readonly PartitionValue[];
}

/** The spec refers to a field the schema does not have. */
export class PartitionSpecError extends IcebergError {
  constructor(message: string) {
    super(message);
  }
}

interface BoundField {
  readonly name: string;
  /** Property names from the row root to the source field (structs may nest). */
  readonly path: readonly string[];
  readonly transform: CompiledTransform;
}

function findField(fields: readonly NestedField[], id: number, path: string[]): { path: string[]; type: IcebergType } | undefined {
  for (const f of fields) {
    if (f.id === id) return { path: [...path, f.name], type: f.type };
    if (typeof f.type !== 'string' && f.type.type === 'struct') {
      const found = findField(f.type.fields, id, [...path, f.name]);
      if (found) return found;
    }
  }
  return undefined;
}

function keyPart(v: PartitionValue): string {
  if (v === null) return '\u0000';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return typeof v === 'bigint' ? `${v}n` : String(v);
}

/** Partition tuple and path computation for one spec. */
export class PartitionKeyer {
  private readonly fields: BoundField[];

  constructor(readonly spec: PartitionSpec, schema: Pick<Schema, 'fields'>) {
    this.fields = spec.fields.map((pf) => {
      const source = findField(schema.fields, pf['source-id'], []);
      if (!source) throw new PartitionSpecError(`partition field ${pf.name}: source field id ${pf['source-id']} is not in the schema`);
      return { name: pf.name, path: source.path, transform: compileTransform(pf.transform, source.type) };
    });
  }

  get unpartitioned(): boolean {
    return this.fields.length === 0;
  }

  /** The row's partition; throws IcebergValueError when a source value does not fit its type. */
  partitionOf(row: Record<string, unknown>): RowPartition {
    const fields = this.fields;
    if (fields.length === 1) {
      const v = fields[0]!.transform.apply(this.sourceValue(row, fields[0]!.path));
      return { key: keyPart(v), values: [v] };
    }
    const values = fields.map((f) => f.transform.apply(this.sourceValue(row, f.path)));
    return { key: values.map(keyPart).join('\u0001'), values };
  }

  /**
   * Only the key string of the row's partition: no tuple array per row, since the writer needs
   * the values once per partition buffer, not once per row.
   */
  keyOf(row: Record<string, unknown>): string {
    const fields = this.fields;
    if (fields.length === 1) return keyPart(fields[0]!.transform.apply(this.sourceValue(row, fields[0]!.path)));
    let key = '';
    for (let i = 0; i < fields.length; i++) {
      if (i > 0) key += '\u0001';
      key += keyPart(fields[i]!.transform.apply(this.sourceValue(row, fields[i]!.path)));
    }
    return key;
  }

  /** The tuple as DataFile.partition: partition field name → value. */
  toRecord(values: readonly PartitionValue[]): Record<string, PartitionValue> {
    const record: Record<string, PartitionValue> = {};
    this.fields.forEach((f, i) => (record[f.name] = values[i] ?? null));
    return record;
  }

  /** `name=human/...` with both parts URL-encoded; '' when unpartitioned. */
  path(values: readonly PartitionValue[]): string {
    return this.fields.map((f, i) => `${encodeURIComponent(f.name)}=${encodeURIComponent(f.transform.human(values[i] ?? null))}`).join('/');
  }

  private sourceValue(row: Record<string, unknown>, path: readonly string[]): unknown {
    let v: unknown = row[path[0]!];
    for (let i = 1; i < path.length && v !== null && v !== undefined; i++) v = (v as Record<string, unknown>)[path[i]!];
    return v;
  }
}
