/**
 * Commits a schema evolution (schema-evolution.ts) with the same optimistic concurrency as
 * appends: planned against the head on every attempt, so two writers evolving the same way at
 * once (instances of one job starting together) end with one schema change, not two.
 */
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.js';
import { formatIdentifier } from './catalog.js';
import { commitOptimistically } from './optimistic-commit.js';
import type { Schema } from './schema.js';
import { planSchemaEvolution } from './schema-evolution.js';
import { currentSchema, nextSchemaId, withSchema } from './table-metadata.js';

/** What evolving a table's schema towards a job's did. */
export interface SchemaUpdateResult {
  /** The table after the change (or as loaded, when there was none). */
  readonly table: LoadedTable;
  /** Changes this call committed (empty when the table already fitted). */
  readonly changes: readonly string[];
  /** Optional table columns the job does not declare (written as null). */
  readonly notInJob: readonly string[];
}

export interface SchemaUpdateOptions {
  readonly base?: LoadedTable;
  readonly maxAttempts?: number;
  readonly nowMs?: () => number;
}

/**
 * Evolves the table's current schema towards `jobSchema` (new optional columns, allowed type
 * promotions, required → optional) and commits it as a new current schema. Throws
 * IncompatibleSchemaError, before committing anything, for a change it cannot apply.
 */
export async function updateTableSchema(catalog: Catalog, id: TableIdentifier, jobSchema: Schema, options: SchemaUpdateOptions = {}): Promise<SchemaUpdateResult> {
  const now = options.nowMs ?? Date.now;
  return commitOptimistically<SchemaUpdateResult>(
    catalog,
    id,
    async (head) => {
      const evolution = planSchemaEvolution(currentSchema(head.metadata), jobSchema, head.metadata['last-column-id'], nextSchemaId(head.metadata));
      if (evolution.schema === undefined) return { kind: 'done', result: { table: head, changes: [], notInJob: evolution.notInJob } };
      const metadata = withSchema(head.metadata, evolution.schema, evolution.lastColumnId, head.metadataLocation, now());
      const outcome = (table: LoadedTable): SchemaUpdateResult => ({ table, changes: evolution.changes, notInJob: evolution.notInJob });
      return {
        kind: 'commit',
        metadata,
        result: outcome,
        // Whether it landed unseen or another writer made the same change, the next plan finds nothing to do.
        landed: () => undefined,
      };
    },
    { what: `schema update of ${formatIdentifier(id)}`, ...(options.base ? { base: options.base } : {}), ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}) },
  );
}
