/**
 * Compaction (Iceberg's `rewrite_data_files`, bin-pack): per partition of the current spec, the
 * small live data files — a streaming job commits a few per checkpoint — are read back as rows
 * of the current schema (data-file-rows.ts: old files get nulls for newer columns and widened
 * types) and written again through the streaming writer into files of about the target size,
 * then swapped in by one `replace` snapshot (rewrite-data-files.ts). A concurrent append is
 * carried over by that commit's rebase; a concurrent rewrite of the same files makes this one
 * give up and delete what it wrote.
 */
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog.js';
import { formatIdentifier } from '../catalog.js';
import { partitionKeyOf, type DataFile } from '../data-file.js';
import { DataFileWriter } from '../data-file-writer.js';
import { IcebergError } from '../../errors.js';
import { currentSchema, currentSnapshot, defaultPartitionSpec, type Snapshot } from '../table-metadata.js';
import { readDataFileRows } from './data-file-rows.js';
import { deleteFiles } from './delete-files.js';
import { DeleteFilesPresentError, rewriteDataFiles, StaleRewriteError } from './rewrite-data-files.js';
import { TableFileReader } from './table-file-reader.js';

const MiB = 1024 * 1024;

export interface CompactDataFilesOptions {
  /** Size the rewritten files roll at. */
  readonly targetFileSizeBytes: number;
  /** Files smaller than this are rewritten (default 75 % of the target, as Iceberg's `min-file-size-bytes`). */
  readonly smallFileBytes?: number;
  /** A partition is compacted once it has at least this many small files (default 5, Iceberg's `min-input-files`). */
  readonly minInputFiles?: number;
  /** Input bytes read per call, at most (default 1 GiB; the first partition chosen is always done whole). The rest waits for the next pass. */
  readonly maxInputBytes?: number;
  /** Files never rewritten (committables a restore may commit again). */
  readonly excludedFiles?: ReadonlySet<string>;
  /** Memory budget of the writer (default 64 MiB). */
  readonly writeBufferBytes?: number;
  readonly parquetWorkers?: number;
  readonly writeInWorker?: boolean;
  /** Extra summary properties of the `replace` snapshot. */
  readonly summary?: Readonly<Record<string, string>>;
  readonly base?: LoadedTable;
  readonly maxAttempts?: number;
  readonly onConflict?: (attempt: number, error: unknown) => void;
}

export interface CompactDataFilesResult {
  /** Partitions whose files were rewritten. */
  readonly partitions: number;
  readonly rewrittenFiles: readonly DataFile[];
  readonly addedFiles: readonly DataFile[];
  /** The `replace` snapshot, when one was committed. */
  readonly snapshot?: Snapshot;
  /** Why nothing was committed, when nothing was. */
  readonly skipped?: string;
}

/** A row read back does not fit the current schema (a file this library cannot rewrite). */
export class CompactionError extends IcebergError {}

/** Picks partitions to compact: those with enough small files, most files first, within the byte budget. */
function plan(files: readonly DataFile[], options: CompactDataFilesOptions, specId: number): DataFile[][] {
  const small = options.smallFileBytes ?? Math.floor(options.targetFileSizeBytes * 0.75);
  const minFiles = Math.max(2, options.minInputFiles ?? 5);
  const budget = options.maxInputBytes ?? 1024 * MiB;
  const groups = new Map<string, DataFile[]>();
  for (const f of files) {
    if (f.specId !== specId || f.fileSizeInBytes >= small || options.excludedFiles?.has(f.filePath)) continue;
    const key = partitionKeyOf(f);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const chosen: DataFile[][] = [];
  let bytes = 0;
  for (const group of [...groups.values()].filter((g) => g.length >= minFiles).sort((a, b) => b.length - a.length)) {
    const size = group.reduce((n, f) => n + f.fileSizeInBytes, 0);
    if (chosen.length > 0 && bytes + size > budget) continue;
    chosen.push(group);
    bytes += size;
  }
  return chosen;
}

export async function compactDataFiles(catalog: Catalog, id: TableIdentifier, options: CompactDataFilesOptions): Promise<CompactDataFilesResult> {
  const head = options.base ?? (await catalog.loadTable(id));
  const { metadata } = head;
  const parent = currentSnapshot(metadata);
  const nothing = (skipped: string): CompactDataFilesResult => ({ partitions: 0, rewrittenFiles: [], addedFiles: [], skipped });
  if (parent === undefined) return nothing('the table has no snapshot');
  const reader = new TableFileReader(catalog.fileIO);
  const manifests = await reader.manifestsOf(parent);
  if (manifests.some((m) => m.content !== 0)) return nothing('the table has delete files (merge-on-read), which compaction does not rewrite');
  const live = (await reader.liveEntriesOf(parent)).map((e) => e.entry.dataFile);
  const spec = defaultPartitionSpec(metadata);
  const groups = plan(live, options, spec['spec-id']);
  if (groups.length === 0) return nothing('no partition has enough small files');
  const replaced = groups.flat();
  const keys = new Set(groups.map((g) => partitionKeyOf(g[0]!)));
  const schema = currentSchema(metadata);
  const writer = new DataFileWriter({
    schema,
    spec,
    tableLocation: metadata.location,
    fileIO: catalog.fileIO,
    targetFileSizeBytes: options.targetFileSizeBytes,
    ...(options.writeBufferBytes ? { writeBufferBytes: options.writeBufferBytes } : {}),
    ...(options.parquetWorkers ? { parquetWorkers: options.parquetWorkers } : {}),
    ...(options.writeInWorker !== undefined ? { writeInWorker: options.writeInWorker } : {}),
    fileNamePrefix: 'compacted-',
  });
  let added: DataFile[];
  try {
    for (const file of replaced) {
      for await (const rows of readDataFileRows(catalog.fileIO, file.filePath, schema)) {
        const result = await writer.append(rows);
        if (result.rejected.length > 0) {
          throw new CompactionError(`${file.filePath}: a row does not fit the current schema of ${formatIdentifier(id)} (${result.rejected[0]!.reason}); nothing was rewritten`);
        }
      }
    }
    added = await writer.flush();
  } finally {
    await writer.close();
  }
  const rowsIn = replaced.reduce((n, f) => n + f.recordCount, 0);
  const rowsOut = added.reduce((n, f) => n + f.recordCount, 0);
  const misplaced = added.filter((f) => !keys.has(partitionKeyOf(f)));
  if (rowsOut !== rowsIn || misplaced.length > 0) {
    await deleteFiles(catalog.fileIO, added.map((f) => f.filePath));
    throw new CompactionError(
      rowsOut !== rowsIn
        ? `rewriting ${replaced.length} files of ${formatIdentifier(id)} produced ${rowsOut} rows from ${rowsIn}; nothing was committed`
        : `rewritten rows of ${formatIdentifier(id)} landed in another partition (${misplaced[0]!.filePath}); nothing was committed`,
    );
  }
  try {
    const { snapshot } = await rewriteDataFiles(catalog, id, replaced, added, {
      base: head,
      ...(options.summary ? { summary: options.summary } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.onConflict ? { onConflict: options.onConflict } : {}),
    });
    return { partitions: groups.length, rewrittenFiles: replaced, addedFiles: added, snapshot };
  } catch (error) {
    // Only a rewrite refused before any commit is certain not to reference the new files; otherwise they stay (at worst orphans).
    if (!(error instanceof StaleRewriteError || error instanceof DeleteFilesPresentError)) throw error;
    await deleteFiles(catalog.fileIO, added.map((f) => f.filePath));
    return nothing(`a concurrent change won: ${error.message}`);
  }
}
