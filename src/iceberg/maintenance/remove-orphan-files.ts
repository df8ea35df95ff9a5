/**
 * Remove orphan files (Iceberg's `remove_orphan_files`): deletes files under a table's location
 * that its metadata does not reference and that are older than a safety age — data files of
 * commits that never happened (a crash between a checkpoint and its commit), staged manifests
 * and manifest lists of failed attempts, old metadata files, temp files of crashed writers.
 *
 * Referenced: every file of every snapshot (deleted entries included), the current metadata
 * file and those of the metadata log, the local catalog's pointer and lock, and the caller's
 * protected files (committables of pending commits, which a restore may still commit). The
 * safety age covers what no list can name: files of a checkpoint still in flight, and commits
 * landing while the listing runs. It must stay well above a checkpoint's duration.
 */
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog.js';
import { IcebergError } from '../../errors.js';
import { fileListerOf } from '../file-io.js';
import { metadataDirectory } from '../table-metadata-file.js';
import { deleteFiles } from './delete-files.js';
import { TableFileReader } from './table-file-reader.js';

export interface RemoveOrphanFilesOptions {
  /** Files modified at or after this (epoch millis) are kept, referenced or not. */
  readonly olderThanMs: number;
  /** Never deleted. */
  readonly protectedFiles?: ReadonlySet<string>;
  /** The table as loaded (default: load it). */
  readonly base?: LoadedTable;
}

export interface RemoveOrphanFilesResult {
  readonly deleted: readonly string[];
  /** Unreferenced files kept because they are protected. */
  readonly keptProtected: readonly string[];
  /** Unreferenced files kept because they are younger than the safety age. */
  readonly keptYoung: number;
  readonly failedDeletes: readonly { readonly location: string; readonly error: string }[];
}

/** Files the local catalog keeps beside the metadata and owns itself. */
const CATALOG_FILES = new Set(['version-hint.text', 'commit.lock']);

/** Throws IcebergError when the catalog's storage cannot be listed (S3 Tables forbids it under a table). */
export async function removeOrphanFiles(catalog: Catalog, id: TableIdentifier, options: RemoveOrphanFilesOptions): Promise<RemoveOrphanFilesResult> {
  const lister = fileListerOf(catalog.fileIO);
  if (lister === undefined) throw new IcebergError('this catalog\'s storage cannot be listed, so orphan files cannot be found (S3 Tables removes unreferenced files itself)');
  const referenced = new Set<string>();
  const seen = new Set<bigint>();
  const reader = new TableFileReader(catalog.fileIO);
  const addReferences = async (table: LoadedTable) => {
    referenced.add(lister.canonical(table.metadataLocation));
    for (const entry of table.metadata['metadata-log']) referenced.add(lister.canonical(entry['metadata-file']));
    for (const snapshot of table.metadata.snapshots) {
      if (seen.has(snapshot['snapshot-id'])) continue;
      seen.add(snapshot['snapshot-id']);
      const refs = await reader.referencedBy(snapshot, true);
      for (const location of [refs.manifestList, ...refs.manifests, ...refs.files]) referenced.add(lister.canonical(location));
    }
  };
  const table = options.base ?? (await catalog.loadTable(id));
  await addReferences(table);
  const metadataDir = lister.canonical(metadataDirectory(table.metadata.location));
  const listed = [];
  for await (const file of lister.list(table.metadata.location)) {
    const path = lister.canonical(file.location);
    if (referenced.has(path)) continue;
    if (path.startsWith(`${metadataDir}/`) && CATALOG_FILES.has(path.slice(metadataDir.length + 1))) continue;
    listed.push({ ...file, path });
  }
  // A commit that landed while listing may reference files listed as unreferenced (e.g. a restore re-committing old files).
  await addReferences(await catalog.loadTable(id));
  const protectedFiles = new Set([...(options.protectedFiles ?? [])].map((f) => lister.canonical(f)));
  const doomed: string[] = [];
  const keptProtected: string[] = [];
  let keptYoung = 0;
  for (const file of listed) {
    if (referenced.has(file.path)) continue;
    if (file.modifiedMs >= options.olderThanMs) keptYoung++;
    else if (protectedFiles.has(file.path)) keptProtected.push(file.location);
    else doomed.push(file.location);
  }
  const outcome = await deleteFiles(catalog.fileIO, doomed);
  return { deleted: outcome.deleted, keptProtected: keptProtected.sort(), keptYoung, failedDeletes: outcome.failed };
}
