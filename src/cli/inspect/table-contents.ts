/**
 * What a table holds as of its current snapshot, read from its metadata, manifest list and
 * manifests (never by listing storage): the live data files with their partitions and row
 * counts, and the snapshots with what our sink recorded in their summaries.
 */
import type { Catalog, LoadedTable, TableIdentifier } from '../../iceberg/catalog.js';
import type { DataFile } from '../../iceberg/data-file.js';
import { decodeManifest, EntryStatus } from '../../iceberg/manifest.js';
import { decodeManifestList } from '../../iceberg/manifest-list.js';
import { currentSnapshot, type Snapshot } from '../../iceberg/table-metadata.js';
import type { Clock } from '../../runtime/time/clock.js';
import { withDeadline } from '../remote/deadline.js';

export interface TableContents {
  readonly loaded: LoadedTable;
  /** Newest first. */
  readonly snapshots: readonly Snapshot[];
  /** Data files of the current snapshot (none without one). */
  readonly files: readonly DataFile[];
  /** Delete files of the current snapshot (this library writes none; another writer might). */
  readonly deleteFiles: number;
}

export async function readTableContents(catalog: Catalog, id: TableIdentifier, clock: Clock, timeoutMs: number): Promise<TableContents> {
  const read = (location: string) => withDeadline(clock, timeoutMs, `reading ${location}`, () => catalog.fileIO.read(location));
  const loaded = await withDeadline(clock, timeoutMs, 'loading the table', () => catalog.loadTable(id));
  const snapshots = [...loaded.metadata.snapshots].sort((a, b) => b['timestamp-ms'] - a['timestamp-ms'] || b['sequence-number'] - a['sequence-number']);
  const current = currentSnapshot(loaded.metadata);
  const files: DataFile[] = [];
  let deleteFiles = 0;
  if (current !== undefined) {
    for (const manifest of decodeManifestList(await read(current['manifest-list']))) {
      if (manifest.content === 1) {
        deleteFiles += manifest.addedFilesCount + manifest.existingFilesCount;
        continue;
      }
      for (const entry of decodeManifest(await read(manifest.manifestPath)).entries) {
        if (entry.status !== EntryStatus.DELETED) files.push(entry.dataFile);
      }
    }
  }
  return { loaded, snapshots, files, deleteFiles };
}
