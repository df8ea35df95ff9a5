/** A Catalog over MemoryFileIO with an in-memory pointer + version token, and hooks to inject races/faults. */
import type { Catalog, LoadedTable, TableDefinition, TableIdentifier } from '../../../../src/iceberg/catalog.js';
import { CommitConflictError, NoSuchTableError } from '../../../../src/errors.js';
import { newTableMetadata, type TableMetadata } from '../../../../src/iceberg/table-metadata.js';
import { readTableMetadataFile, writeTableMetadataFile } from '../../../../src/iceberg/table-metadata-file.js';
import { MemoryFileIO } from './memory-file-io.js';

export class MemoryCatalog implements Catalog {
  readonly fileIO = new MemoryFileIO();
  private readonly pointers = new Map<string, { location: string; token: string }>();
  private version = 0;
  commits = 0;
  /** Runs just before a swap is checked (simulate another writer committing in between). */
  beforeSwap: ((base: LoadedTable) => Promise<void>) | undefined;
  /** Runs after a successful swap; throwing simulates a lost response. */
  afterSwap: (() => void) | undefined;

  private key(id: TableIdentifier) {
    return `${id.namespace}.${id.name}`;
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable> {
    const p = this.pointers.get(this.key(id));
    if (!p) throw new NoSuchTableError(`no ${this.key(id)}`);
    return { identifier: id, metadataLocation: p.location, metadata: await readTableMetadataFile(this.fileIO, p.location), versionToken: p.token };
  }

  async ensureTable(id: TableIdentifier, def: TableDefinition): Promise<LoadedTable> {
    if (!this.pointers.has(this.key(id))) {
      const md = newTableMetadata({ location: `mem://wh/${id.namespace}/${id.name}`, ...def });
      const location = await writeTableMetadataFile(this.fileIO, md, undefined);
      this.pointers.set(this.key(id), { location, token: `t${this.version++}` });
    }
    return this.loadTable(id);
  }

  async commitTable(base: LoadedTable, metadata: TableMetadata): Promise<LoadedTable> {
    const location = await writeTableMetadataFile(this.fileIO, metadata, base.metadataLocation);
    const hook = this.beforeSwap;
    this.beforeSwap = undefined;
    await hook?.(base);
    const p = this.pointers.get(this.key(base.identifier));
    if (!p || p.token !== base.versionToken) throw new CommitConflictError('token mismatch');
    const token = `t${this.version++}`;
    this.pointers.set(this.key(base.identifier), { location, token });
    this.commits++;
    this.afterSwap?.();
    return { identifier: base.identifier, metadataLocation: location, metadata, versionToken: token };
  }
}
