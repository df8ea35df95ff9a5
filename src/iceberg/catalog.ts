/**
 * What commits need from a catalog: load a table's current metadata with an opaque version token,
 * create it when missing, and swap the metadata pointer only if the token is still current.
 * Implementations: {@link ./local-catalog.js} (filesystem) and {@link ./s3-tables-catalog.js}.
 */
import type { FileIO } from './file-io.js';
import type { PartitionSpec, Schema } from './schema.js';
import type { SortOrder, TableMetadata } from './table-metadata.js';

/** Namespace and table name (S3 Tables: lowercase letters, digits, underscores). */
export interface TableIdentifier {
  readonly namespace: string;
  readonly name: string;
}

/** A table as loaded: the metadata, the file it came from and the token that guards the next swap. */
export interface LoadedTable {
  readonly identifier: TableIdentifier;
  readonly metadataLocation: string;
  readonly metadata: TableMetadata;
  /** S3 Tables `versionToken`; the local catalog uses the metadata location itself. */
  readonly versionToken: string;
}

/** Definition used when a table has to be created. */
export interface TableDefinition {
  readonly schema: Schema;
  readonly spec?: PartitionSpec;
  readonly sortOrder?: SortOrder;
  readonly properties?: Readonly<Record<string, string>>;
}

export interface Catalog {
  /** Reads and writes every table file (data, manifests, metadata) of this catalog's tables. */
  readonly fileIO: FileIO;
  /** Current state; throws NoSuchTableError when the table (or its first metadata) does not exist. */
  loadTable(id: TableIdentifier): Promise<LoadedTable>;
  /** Loads the table, creating namespace and table with `definition` when missing (safe against concurrent creators). */
  ensureTable(id: TableIdentifier, definition: TableDefinition): Promise<LoadedTable>;
  /**
   * Writes `metadata` as the next metadata file and swaps the table's pointer to it, only if
   * `base.versionToken` is still current; otherwise throws CommitConflictError. Other errors
   * leave the outcome unknown: callers re-load and check before retrying.
   */
  commitTable(base: LoadedTable, metadata: TableMetadata): Promise<LoadedTable>;
}

/** `namespace.name`, for messages. */
export function formatIdentifier(id: TableIdentifier): string {
  return `${id.namespace}.${id.name}`;
}
