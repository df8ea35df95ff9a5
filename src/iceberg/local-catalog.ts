/**
 * The embedded catalog: a warehouse folder on the local filesystem, laid out as S3 Tables lays
 * out a table (`<warehouse>/<namespace>/<table>/{data,metadata}/…`). The current metadata file
 * is named by `metadata/version-hint.text` (its file name without `.metadata.json`), replaced
 * atomically by rename under a lock file so that of two writers on the same base only one wins.
 * pyiceberg reads a table with `StaticTable.from_metadata(<metadata file>)`.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Catalog, LoadedTable, TableDefinition, TableIdentifier } from './catalog.js';
import { formatIdentifier } from './catalog.js';
import { CommitConflictError, NoSuchTableError } from '../errors.js';
import type { FileIO } from './file-io.js';
import { newTableMetadata, type TableMetadata } from './table-metadata.js';
import { metadataDirectory, readTableMetadataFile, writeTableMetadataFile } from './table-metadata-file.js';
import { nodeTimers } from '../remote/call-with-retry.js';

export interface LocalCatalogOptions {
  /** Warehouse folder (created on demand). */
  readonly warehouse: string;
  /** FileIO for `file://` locations (local-file-io.ts). */
  readonly fileIO: FileIO;
  /** How long to wait for another local writer's commit lock (default 10 s). */
  readonly lockWaitMs?: number;
  /** A lock older than this is presumed left by a crashed writer and broken (default 30 s). */
  readonly staleLockMs?: number;
}

const HINT = 'version-hint.text';
const LOCK = 'commit.lock';
const SUFFIX = '.metadata.json';

/** Filesystem warehouse catalog. */
export class LocalCatalog implements Catalog {
  readonly fileIO: FileIO;
  private readonly warehouse: string;
  private readonly lockWaitMs: number;
  private readonly staleLockMs: number;

  constructor(options: LocalCatalogOptions) {
    this.warehouse = path.resolve(options.warehouse);
    this.fileIO = options.fileIO;
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  /** `<warehouse>/<namespace>/<table>` on disk. */
  tableDirectory(id: TableIdentifier): string {
    return path.join(this.warehouse, id.namespace, id.name);
  }

  /** The table's `location` (a `file://` URI). */
  tableLocation(id: TableIdentifier): string {
    return pathToFileURL(this.tableDirectory(id)).href;
  }

  private metadataDir(id: TableIdentifier): string {
    return path.join(this.tableDirectory(id), 'metadata');
  }

  private async readHint(id: TableIdentifier): Promise<string | undefined> {
    try {
      const text = (await fs.readFile(path.join(this.metadataDir(id), HINT), 'utf8')).trim();
      return text === '' ? undefined : text;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private locationForHint(id: TableIdentifier, hint: string): string {
    return `${metadataDirectory(this.tableLocation(id))}/${hint}${SUFFIX}`;
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable> {
    const hint = await this.readHint(id);
    if (hint === undefined) throw new NoSuchTableError(`table ${formatIdentifier(id)} does not exist in ${this.warehouse}`);
    const metadataLocation = this.locationForHint(id, hint);
    const metadata = await readTableMetadataFile(this.fileIO, metadataLocation);
    return { identifier: id, metadataLocation, metadata, versionToken: metadataLocation };
  }

  async ensureTable(id: TableIdentifier, definition: TableDefinition): Promise<LoadedTable> {
    if ((await this.readHint(id)) !== undefined) return this.loadTable(id);
    await fs.mkdir(this.metadataDir(id), { recursive: true });
    const metadata = newTableMetadata({ location: this.tableLocation(id), ...definition });
    const location = await writeTableMetadataFile(this.fileIO, metadata, undefined);
    await this.withLock(id, async (stillHeld) => {
      if ((await this.readHint(id)) !== undefined) return; // another writer created it first
      await this.swapHint(id, location, stillHeld);
    });
    return this.loadTable(id);
  }

  async commitTable(base: LoadedTable, metadata: TableMetadata): Promise<LoadedTable> {
    const id = base.identifier;
    const location = await writeTableMetadataFile(this.fileIO, metadata, base.metadataLocation);
    await this.withLock(id, async (stillHeld) => {
      const hint = await this.readHint(id);
      const current = hint === undefined ? undefined : this.locationForHint(id, hint);
      if (current !== base.versionToken) {
        throw new CommitConflictError(`table ${formatIdentifier(id)} changed: expected ${base.versionToken}, found ${current ?? 'none'}`);
      }
      await this.swapHint(id, location, stillHeld);
    });
    return { identifier: id, metadataLocation: location, metadata, versionToken: location };
  }

  private async swapHint(id: TableIdentifier, metadataLocation: string, stillHeld: () => Promise<boolean>): Promise<void> {
    const dir = this.metadataDir(id);
    const name = metadataLocation.slice(metadataLocation.lastIndexOf('/') + 1, -SUFFIX.length);
    const tmp = path.join(dir, `.${HINT}.${randomUUID()}.tmp`);
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(name, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Our lock may have been broken as stale while we were paused; then another writer may have moved on.
    if (!(await stillHeld())) {
      await fs.rm(tmp, { force: true });
      throw new CommitConflictError(`lost the commit lock of ${formatIdentifier(id)}`);
    }
    await fs.rename(tmp, path.join(dir, HINT));
  }

  private async withLock<T>(id: TableIdentifier, body: (stillHeld: () => Promise<boolean>) => Promise<T>): Promise<T> {
    const lockPath = path.join(this.metadataDir(id), LOCK);
    const token = `${process.pid}:${randomUUID()}`;
    const deadline = Date.now() + this.lockWaitMs;
    for (;;) {
      try {
        await fs.writeFile(lockPath, token, { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const stat = await fs.stat(lockPath).catch(() => undefined);
        if (stat && Date.now() - stat.mtimeMs > this.staleLockMs) {
          await fs.rm(lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new CommitConflictError(`timed out waiting for the commit lock of ${formatIdentifier(id)}`);
        await nodeTimers.sleep(5 + Math.random() * 20);
      }
    }
    const stillHeld = async () => (await fs.readFile(lockPath, 'utf8').catch(() => '')) === token;
    try {
      return await body(stillHeld);
    } finally {
      if (await stillHeld()) await fs.rm(lockPath, { force: true });
    }
  }
}
