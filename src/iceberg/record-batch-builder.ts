/**
 * Rows (plain objects, schema.ts value conventions) → Arrow RecordBatch, validated per row: a row
 * that does not fit the schema is returned as rejected with its reason and leaves no trace in the
 * batch, so one bad record becomes a dead letter instead of failing the whole batch.
 */
import { makeData, RecordBatch, Schema as ArrowSchema, Struct } from 'apache-arrow';
import type { Schema } from './schema.js';
import { toArrowSchema } from './arrow-schema.js';
import { ColumnBuilder, createColumnBuilder } from './arrow-column-builder.js';
import { IcebergValueError } from './row-value-coercion.js';

/** A row that did not fit the schema. */
export interface RejectedRow {
  /** Position of the row in the input it came from. */
  readonly index: number;
  readonly row: unknown;
  /** e.g. `amount: decimal with at most 2 fraction digits, got 12.345`. */
  readonly reason: string;
}

/** A finished batch plus what Parquet statistics cannot tell: NaN counts per float/double field id. */
export interface BuiltBatch {
  readonly batch: RecordBatch;
  readonly nanValueCounts: ReadonlyMap<number, number>;
}

/** Accumulates rows into one Arrow RecordBatch; `finish()` hands it over and starts afresh. */
export class RecordBatchBuilder {
  readonly arrowSchema: ArrowSchema;
  private readonly columns: ColumnBuilder[];
  private readonly names: string[];
  private rows = 0;

  constructor(schema: Pick<Schema, 'fields'>) {
    this.arrowSchema = toArrowSchema(schema);
    this.names = schema.fields.map((f) => f.name);
    this.columns = schema.fields.map((f, i) => createColumnBuilder(f.name, f.type, this.arrowSchema.fields[i]!.type, !f.required, f.id));
  }

  /** Rows appended since the last finish(). */
  get length(): number {
    return this.rows;
  }

  /** Appends one row; returns undefined when accepted, else the reason it was rejected. Fields not in the schema are ignored. */
  append(row: unknown): string | undefined {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return 'row is not an object';
    const r = row as Record<string, unknown>;
    const columns = this.columns;
    const names = this.names;
    const n = this.rows;
    let i = 0;
    try {
      for (; i < columns.length; i++) columns[i]!.append(r[names[i]!]);
    } catch (e) {
      if (!(e instanceof IcebergValueError)) throw e;
      for (let j = 0; j <= i && j < columns.length; j++) columns[j]!.truncate(n);
      return e.message;
    }
    this.rows = n + 1;
    return undefined;
  }

  /** Appends rows, pushing rejected ones (index = position in `rows` + indexOffset) onto `rejected`. */
  appendRows(rows: readonly unknown[], rejected: RejectedRow[] = [], indexOffset = 0): RejectedRow[] {
    for (let k = 0; k < rows.length; k++) {
      const reason = this.append(rows[k]);
      if (reason !== undefined) rejected.push({ index: k + indexOffset, row: rows[k], reason });
    }
    return rejected;
  }

  /** Approximate bytes of the buffered Arrow data. */
  estimatedBytes(): number {
    let n = 0;
    for (const c of this.columns) n += c.estimatedBytes();
    return n;
  }

  /** The rows so far as one RecordBatch (possibly empty); the builder is empty afterwards. */
  finish(): BuiltBatch {
    const nanValueCounts = new Map<number, number>();
    for (const c of this.columns) c.collectNanCounts(nanValueCounts);
    const children = this.columns.map((c) => c.finish());
    const data = makeData({ type: new Struct(this.arrowSchema.fields), length: this.rows, nullCount: 0, children });
    this.rows = 0;
    return { batch: new RecordBatch(this.arrowSchema, data), nanValueCounts };
  }
}
