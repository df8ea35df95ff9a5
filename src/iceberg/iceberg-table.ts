/**
 * A handle on one table of a catalog: its last known state, where data files go, and appends
 * that rebase on conflicts. A convenience over {@link appendFiles} for sinks.
 */
import type { DataFile } from './data-file.js';
import type { Catalog, LoadedTable, TableDefinition, TableIdentifier } from './catalog.js';
import { appendFiles, type AppendFilesOptions, type AppendFilesResult } from './append-files.js';
import type { PartitionSpec, Schema } from './schema.js';
import { currentSchema, defaultPartitionSpec, type TableMetadata } from './table-metadata.js';
import { updateTableSchema, type SchemaUpdateResult } from './update-table-schema.js';

export class IcebergTable {
  private constructor(
    readonly catalog: Catalog,
    readonly identifier: TableIdentifier,
    private loaded: LoadedTable,
    /** What opening changed in the table's schema, and the optional columns the definition does not declare. */
    readonly schemaUpdate: Pick<SchemaUpdateResult, 'changes' | 'notInJob'> = { changes: [], notInJob: [] },
  ) {}

  /**
   * Loads the table, creating it with `definition` when missing; an existing table's schema is
   * evolved towards the definition's (schema-evolution.ts), or IncompatibleSchemaError says
   * which column cannot be.
   */
  static async open(catalog: Catalog, identifier: TableIdentifier, definition?: TableDefinition): Promise<IcebergTable> {
    if (definition === undefined) return new IcebergTable(catalog, identifier, await catalog.loadTable(identifier));
    const ensured = await catalog.ensureTable(identifier, definition);
    const update = await updateTableSchema(catalog, identifier, definition.schema, { base: ensured });
    return new IcebergTable(catalog, identifier, update.table, { changes: update.changes, notInJob: update.notInJob });
  }

  /** Last loaded or committed state (may be stale; {@link refresh} re-reads it). */
  get state(): LoadedTable {
    return this.loaded;
  }

  get metadata(): TableMetadata {
    return this.loaded.metadata;
  }

  get location(): string {
    return this.loaded.metadata.location;
  }

  get schema(): Schema {
    return currentSchema(this.loaded.metadata);
  }

  get spec(): PartitionSpec {
    return defaultPartitionSpec(this.loaded.metadata);
  }

  /** Where new data files go: `write.data.path` or `<location>/data`. */
  get dataLocation(): string {
    return (this.loaded.metadata.properties['write.data.path'] ?? `${this.location}/data`).replace(/\/+$/, '');
  }

  async refresh(): Promise<LoadedTable> {
    this.loaded = await this.catalog.loadTable(this.identifier);
    return this.loaded;
  }

  /** Commits `files` as one append snapshot (see {@link appendFiles}); the handle then holds the new state. */
  async append(files: readonly DataFile[], options: Omit<AppendFilesOptions, 'base'> = {}): Promise<AppendFilesResult> {
    try {
      const result = await appendFiles(this.catalog, this.identifier, files, { ...options, base: this.loaded });
      this.loaded = result.table;
      return result;
    } catch (error) {
      await this.refresh().catch(() => undefined);
      throw error;
    }
  }
}
