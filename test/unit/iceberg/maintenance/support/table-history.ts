/** Builds table histories on a MemoryCatalog for maintenance tests: appends of placeholder files, and what a snapshot holds. */
import { appendFiles } from '../../../../../src/iceberg/append-files.js';
import type { DataFile } from '../../../../../src/iceberg/data-file.js';
import { decodeManifest, EntryStatus } from '../../../../../src/iceberg/manifest.js';
import { decodeManifestList } from '../../../../../src/iceberg/manifest-list.js';
import { currentSnapshot, type Snapshot, type TableMetadata } from '../../../../../src/iceberg/table-metadata.js';
import { MemoryCatalog } from '../../support/memory-catalog.js';
import { BY_DAY, ORDERS_SCHEMA, sampleDataFile } from '../../support/sample-table.js';

export const ID = { namespace: 'sink', name: 'orders' };
export const FAST = { baseDelayMs: 1, maxDelayMs: 2 };

export async function newTable(): Promise<MemoryCatalog> {
  const catalog = new MemoryCatalog();
  await catalog.ensureTable(ID, { schema: ORDERS_SCHEMA, spec: BY_DAY });
  return catalog;
}

/** A placeholder data file that exists in the catalog's storage (its bytes are not Parquet: expiry never reads data files). */
export async function storedFile(catalog: MemoryCatalog, name: string, day = 19800, rows = 10): Promise<DataFile> {
  const file = sampleDataFile(`mem://wh/sink/orders/data/${name}.parquet`, day, rows, 100 + rows);
  await catalog.fileIO.write(file.filePath, new Uint8Array([1, 2, 3]));
  return file;
}

/** Appends placeholder files as one snapshot at `timestampMs`, with an optional summary. */
export async function append(catalog: MemoryCatalog, names: string[], timestampMs: number, summary: Record<string, string> = {}): Promise<Snapshot> {
  const files = [];
  for (const name of names) files.push(await storedFile(catalog, name));
  return (await appendFiles(catalog, ID, files, { ...FAST, summary, nowMs: () => timestampMs })).snapshot;
}

/** Data files of a snapshot by status, as a reader would see them (independent of the maintenance code's reader). */
export async function filesOf(catalog: MemoryCatalog, snapshot: Snapshot | undefined): Promise<{ live: string[]; deleted: string[] }> {
  const live: string[] = [];
  const deleted: string[] = [];
  if (snapshot === undefined) return { live, deleted };
  for (const m of decodeManifestList(await catalog.fileIO.read(snapshot['manifest-list']))) {
    for (const e of decodeManifest(await catalog.fileIO.read(m.manifestPath)).entries) (e.status === EntryStatus.DELETED ? deleted : live).push(e.dataFile.filePath);
  }
  return { live: live.sort(), deleted: deleted.sort() };
}

export async function currentFiles(catalog: MemoryCatalog): Promise<string[]> {
  const metadata: TableMetadata = (await catalog.loadTable(ID)).metadata;
  return (await filesOf(catalog, currentSnapshot(metadata))).live;
}

/** `mem://…/data/<name>.parquet` → `<name>`. */
export const short = (path: string) => path.replace(/^.*\/(.+)\.parquet$/, '$1');
