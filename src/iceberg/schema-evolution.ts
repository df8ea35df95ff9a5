/**
 * What a job's declared schema changes in an existing table's schema, as Iceberg's Kafka Connect
 * sink (`evolve-schema-enabled`) and Flink's dynamic sink do it: columns are matched by name;
 * new optional columns are added with fresh field ids above `last-column-id` (nested ids
 * included), allowed promotions widen a type (type-promotion.ts), and a required column may
 * become optional. A table column the job no longer declares stays and is written as null when
 * it is optional. Everything else is refused with an IncompatibleSchemaError naming the column
 * and what to do: renames (Iceberg keeps field ids across a rename, so a rename is a table
 * operation, not something a writer infers), new required columns (old rows have no value),
 * narrowing or unrelated type changes, optional → required.
 *
 * Renames are recognized by field id: `tableSchema()` numbers a job's columns in declaration
 * order, so a job column unknown to the table whose id is that of a table column the job no
 * longer declares has most likely been renamed.
 */
import type { IcebergType, NestedField, PrimitiveType, Schema } from './schema.js';
import { IncompatibleSchemaError } from '../errors.js';
import { isPromotion, samePrimitive } from './type-promotion.js';

/** The evolution of a table's schema towards a job's schema. */
export interface SchemaEvolution {
  /** The new current schema (next schema id), or undefined when the table already fits the job. */
  readonly schema: Schema | undefined;
  /** `last-column-id` after the change. */
  readonly lastColumnId: number;
  /** One line per change, for logs: `add column discount decimal(12, 2) (id 8)`. */
  readonly changes: readonly string[];
  /** Optional table columns the job does not declare: written as null. */
  readonly notInJob: readonly string[];
}

const ALLOWED = 'Iceberg allows, without rewriting data: adding optional columns, int → long, float → double, decimal(P, S) → decimal(P2, S) with P2 > P, and required → optional';

function describe(type: IcebergType): string {
  if (typeof type === 'string') return type;
  switch (type.type) {
    case 'struct':
      return `struct<${type.fields.map((f) => `${f.name}: ${describe(f.type)}`).join(', ')}>`;
    case 'list':
      return `list<${describe(type.element)}>`;
    case 'map':
      return `map<${describe(type.key)}, ${describe(type.value)}>`;
  }
}

/** Hands out field ids above the table's last column id. */
class IdAllocator {
  constructor(public last: number) {}
  next(): number {
    return ++this.last;
  }
}

/** `type` with every nested id replaced by a fresh one (a column added to the table). */
function withFreshIds(type: IcebergType, ids: IdAllocator): IcebergType {
  if (typeof type === 'string') return type;
  switch (type.type) {
    case 'struct':
      return { type: 'struct', fields: type.fields.map((f) => ({ ...f, id: ids.next(), type: withFreshIds(f.type, ids) })) };
    case 'list': {
      const elementId = ids.next();
      return { ...type, 'element-id': elementId, element: withFreshIds(type.element, ids) };
    }
    case 'map': {
      const keyId = ids.next();
      const valueId = ids.next();
      return { ...type, 'key-id': keyId, key: withFreshIds(type.key, ids), 'value-id': valueId, value: withFreshIds(type.value, ids) };
    }
  }
}

class Planner {
  readonly changes: string[] = [];
  readonly notInJob: string[] = [];

  constructor(private readonly ids: IdAllocator) {}

  /** The table's struct fields evolved towards the job's (table order kept, new fields appended). */
  fields(path: string, table: readonly NestedField[], job: readonly NestedField[]): NestedField[] {
    const jobNames = new Set(job.map((f) => f.name));
    const tableByName = new Map(table.map((f) => [f.name, f]));
    for (const j of job) {
      if (tableByName.has(j.name)) continue;
      const renamed = table.find((t) => t.id === j.id && !jobNames.has(t.name));
      if (renamed === undefined) continue;
      const name = `${path}${j.name}`;
      throw new IncompatibleSchemaError(
        `${path}${renamed.name}`,
        `Column '${path}${renamed.name}' (field id ${renamed.id}) looks renamed to '${name}' in the job. Streamline does not rename columns: Iceberg keeps a renamed column's field id, which a writer cannot infer. Either keep the name '${path}${renamed.name}' in the job, or rename the table's column first (e.g. pyiceberg: table.update_schema().rename_column('${path}${renamed.name}', '${j.name}')) and then start the job. To add '${name}' as a new column instead, keep '${path}${renamed.name}' declared (optional) as well.`,
      );
    }
    const out: NestedField[] = [];
    for (const t of table) {
      const name = `${path}${t.name}`;
      const j = job.find((f) => f.name === t.name);
      if (j === undefined) {
        if (t.required) {
          throw new IncompatibleSchemaError(
            name,
            `Column '${name}' is required in the table but the job no longer declares it, so new rows would have no value for it. Declare it again in the job (as before, or as optional(...) to relax it), or drop it from the table with an Iceberg tool first.`,
          );
        }
        this.notInJob.push(name);
        out.push(t);
        continue;
      }
      out.push(this.field(name, t, j));
    }
    for (const j of job) {
      if (tableByName.has(j.name)) continue;
      const name = `${path}${j.name}`;
      if (j.required) {
        throw new IncompatibleSchemaError(
          name,
          `Column '${name}' is new and declared required, but the table already has rows without it. Declare it optional(...) in the job: old rows then read as null.`,
        );
      }
      const added: NestedField = { ...j, id: this.ids.next(), type: withFreshIds(j.type, this.ids) };
      this.changes.push(`add column ${name} ${describe(added.type)} (id ${added.id})`);
      out.push(added);
    }
    return out;
  }

  private field(name: string, t: NestedField, j: NestedField): NestedField {
    let required = t.required;
    if (t.required && !j.required) {
      required = false;
      this.changes.push(`make ${name} optional`);
    } else if (!t.required && j.required) {
      throw new IncompatibleSchemaError(
        name,
        `Column '${name}' is optional in the table but required in the job; old rows may hold nulls. Declare it optional(...) in the job.`,
      );
    }
    return { ...t, required, type: this.type(name, t.type, j.type) };
  }

  private type(name: string, table: IcebergType, job: IcebergType): IcebergType {
    if (typeof table === 'string' && typeof job === 'string') return this.primitive(name, table, job);
    if (typeof table !== 'string' && typeof job !== 'string') {
      if (table.type === 'struct' && job.type === 'struct') return { type: 'struct', fields: this.fields(`${name}.`, table.fields, job.fields) };
      if (table.type === 'list' && job.type === 'list') {
        const element = this.type(`${name}[]`, table.element, job.element);
        return { ...table, element, 'element-required': this.requiredness(`${name}[]`, table['element-required'], job['element-required']) };
      }
      if (table.type === 'map' && job.type === 'map') {
        const key = this.type(`${name}.key`, table.key, job.key);
        const value = this.type(`${name}.value`, table.value, job.value);
        return { ...table, key, value, 'value-required': this.requiredness(`${name}.value`, table['value-required'], job['value-required']) };
      }
    }
    throw this.incompatible(name, table, job);
  }

  private requiredness(name: string, table: boolean, job: boolean): boolean {
    if (table && !job) {
      this.changes.push(`make ${name} optional`);
      return false;
    }
    if (!table && job) {
      throw new IncompatibleSchemaError(name, `'${name}' is optional in the table but required in the job; old rows may hold nulls. Declare it optional in the job.`);
    }
    return table;
  }

  private primitive(name: string, table: PrimitiveType, job: PrimitiveType): PrimitiveType {
    if (samePrimitive(table, job)) return table;
    if (isPromotion(table, job)) {
      this.changes.push(`promote ${name} ${table} → ${job}`);
      return job;
    }
    if (isPromotion(job, table)) {
      throw new IncompatibleSchemaError(
        name,
        `Column '${name}' is ${table} in the table; the job declares the narrower ${job}, which could not hold the values already written. Declare it ${table} in the job.`,
      );
    }
    throw this.incompatible(name, table, job);
  }

  private incompatible(name: string, table: IcebergType, job: IcebergType): IncompatibleSchemaError {
    return new IncompatibleSchemaError(
      name,
      `Column '${name}' is ${describe(table)} in the table but ${describe(job)} in the job, a change Iceberg cannot apply to existing data (${ALLOWED}). Keep the table's type in the job, or write to a new table (or a new column name) and migrate.`,
    );
  }
}

/**
 * Plans the evolution of `table` (the table's current schema, whose highest field id ever used
 * is `lastColumnId`) towards `job`; throws IncompatibleSchemaError for a change it cannot apply.
 * `nextSchemaId` is the id the new schema gets (above every schema id of the table).
 */
export function planSchemaEvolution(table: Schema, job: Schema, lastColumnId: number, nextSchemaId: number): SchemaEvolution {
  const ids = new IdAllocator(lastColumnId);
  const planner = new Planner(ids);
  const fields = planner.fields('', table.fields, job.fields);
  if (planner.changes.length === 0) return { schema: undefined, lastColumnId, changes: [], notInJob: planner.notInJob };
  const schema: Schema = {
    type: 'struct',
    'schema-id': nextSchemaId,
    ...(table['identifier-field-ids'] ? { 'identifier-field-ids': table['identifier-field-ids'] } : {}),
    fields,
  };
  return { schema, lastColumnId: ids.last, changes: planner.changes, notInJob: planner.notInJob };
}
