/**
 * Commits a rewrite of data files (Iceberg's `RewriteFiles`, snapshot operation `replace`): the
 * replaced files are marked DELETED and the new ones ADDED in one snapshot, so readers see the
 * same rows. Optimistic like an append, and planned again on every conflict: the manifests that
 * hold a replaced file are rewritten against the new head (replaced entries DELETED with this
 * snapshot's id, the others EXISTING with their sequence numbers written out), every other
 * manifest is carried over as it is — so a streaming append that landed meanwhile stays in the
 * table exactly once. If a replaced file is no longer live in the head (another rewrite or a
 * delete took it), nothing is committed: StaleRewriteError.
 */
import { randomUUID } from 'node:crypto';
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog.js';
import { formatIdentifier } from '../catalog.js';
import { partitionKeyOf, type DataFile } from '../data-file.js';
import { IcebergError } from '../../errors.js';
import { encodeManifest, encodeManifestEntries, EntryStatus, type ManifestEntryInput } from '../manifest.js';
import { encodeManifestList, summarizePartitions, type ManifestFile } from '../manifest-list.js';
import { commitOptimistically } from '../optimistic-commit.js';
import { isInAncestry } from '../snapshot-ancestry.js';
import { currentSchema, currentSnapshot, newSnapshotId, partitionSpecById, withSnapshot, type Snapshot, type SnapshotSummary } from '../table-metadata.js';
import { metadataDirectory } from '../table-metadata-file.js';
import { isLive, TableFileReader } from './table-file-reader.js';

/** Some files to replace are not live in the table any more; the rewrite was not committed. */
export class StaleRewriteError extends IcebergError {}

/** The table holds delete files (merge-on-read); rewriting data files under them is not supported. */
export class DeleteFilesPresentError extends IcebergError {}

export interface RewriteDataFilesOptions {
  /** Extra summary properties (e.g. who rewrote). */
  readonly summary?: Readonly<Record<string, string>>;
  readonly base?: LoadedTable;
  readonly maxAttempts?: number;
  readonly nowMs?: () => number;
  readonly onConflict?: (attempt: number, error: unknown) => void;
}

export interface RewriteDataFilesResult {
  readonly table: LoadedTable;
  readonly snapshot: Snapshot;
}

function manifestListEntry(path: string, length: number, specId: number, snapshotId: bigint, sequenceNumber: number, entries: readonly ManifestEntryInput[], partitions: ManifestFile['partitions']): ManifestFile {
  const live = entries.filter((e) => e.status !== EntryStatus.DELETED);
  const deleted = entries.filter((e) => e.status === EntryStatus.DELETED);
  const added = entries.filter((e) => e.status === EntryStatus.ADDED);
  const existing = entries.filter((e) => e.status === EntryStatus.EXISTING);
  const rows = (es: readonly ManifestEntryInput[]) => es.reduce((n, e) => n + e.dataFile.recordCount, 0);
  const minSequence = live.reduce((min, e) => (e.sequenceNumber !== null && Number(e.sequenceNumber) < min ? Number(e.sequenceNumber) : min), sequenceNumber);
  return {
    manifestPath: path,
    manifestLength: length,
    partitionSpecId: specId,
    content: 0,
    sequenceNumber,
    minSequenceNumber: minSequence,
    addedSnapshotId: snapshotId,
    addedFilesCount: added.length,
    existingFilesCount: existing.length,
    deletedFilesCount: deleted.length,
    addedRowsCount: rows(added),
    existingRowsCount: rows(existing),
    deletedRowsCount: rows(deleted),
    partitions,
  };
}

function summaryOf(replaced: readonly DataFile[], added: readonly DataFile[], manifests: readonly ManifestFile[], parent: Snapshot, extra: Readonly<Record<string, string>>): SnapshotSummary {
  const size = (files: readonly DataFile[]) => files.reduce((n, f) => n + f.fileSizeInBytes, 0);
  const records = (files: readonly DataFile[]) => files.reduce((n, f) => n + f.recordCount, 0);
  const data = manifests.filter((m) => m.content === 0);
  const summary: Record<string, string> = {
    ...extra,
    operation: 'replace',
    'added-data-files': String(added.length),
    'deleted-data-files': String(replaced.length),
    'added-records': String(records(added)),
    'deleted-records': String(records(replaced)),
    'added-files-size': String(size(added)),
    'removed-files-size': String(size(replaced)),
    'changed-partition-count': String(new Set([...replaced, ...added].map(partitionKeyOf)).size),
    'total-records': String(data.reduce((n, m) => n + m.addedRowsCount + m.existingRowsCount, 0)),
    'total-data-files': String(data.reduce((n, m) => n + m.addedFilesCount + m.existingFilesCount, 0)),
    'total-delete-files': '0',
  };
  const parentSize = parent.summary['total-files-size'];
  if (parentSize !== undefined && /^\d+$/.test(parentSize)) summary['total-files-size'] = String(Number(parentSize) - size(replaced) + size(added));
  for (const key of ['total-position-deletes', 'total-equality-deletes']) if (parent.summary[key] !== undefined) summary[key] = parent.summary[key]!;
  return summary as SnapshotSummary;
}

/** Replaces `replaced` (live data files of the table) with `added` in one `replace` snapshot. */
export async function rewriteDataFiles(
  catalog: Catalog,
  id: TableIdentifier,
  replaced: readonly DataFile[],
  added: readonly DataFile[],
  options: RewriteDataFilesOptions = {},
): Promise<RewriteDataFilesResult> {
  const now = options.nowMs ?? Date.now;
  const snapshotId = newSnapshotId();
  const reader = new TableFileReader(catalog.fileIO);
  const replacedPaths = new Set(replaced.map((f) => f.filePath));
  let staged: { path: string; length: number; specId: number; files: DataFile[] }[] | undefined;
  const committed = (table: LoadedTable): RewriteDataFilesResult => ({ table, snapshot: table.metadata.snapshots.find((s) => s['snapshot-id'] === snapshotId)! });

  return commitOptimistically<RewriteDataFilesResult>(
    catalog,
    id,
    async (head, attempt) => {
      const { metadata } = head;
      const schema = currentSchema(metadata);
      const dir = metadataDirectory(metadata.location);
      // An earlier attempt whose success went unseen: its files are committed, not stale.
      if (isInAncestry(metadata, snapshotId)) return { kind: 'done', result: committed(head) };
      const parent = currentSnapshot(metadata);
      if (parent === undefined) throw new StaleRewriteError(`${formatIdentifier(id)} has no snapshot: nothing to rewrite`);
      if (staged === undefined) {
        // The new files' manifests do not depend on the head: written once, reused by every attempt.
        staged = [];
        const bySpec = new Map<number, DataFile[]>();
        for (const f of added) bySpec.set(f.specId, [...(bySpec.get(f.specId) ?? []), f]);
        for (const [specId, files] of bySpec) {
          const bytes = encodeManifest(files, { schema, spec: partitionSpecById(metadata, specId), snapshotId });
          const path = `${dir}/${randomUUID()}-m-compacted.avro`;
          await catalog.fileIO.write(path, bytes);
          staged.push({ path, length: bytes.byteLength, specId, files });
        }
      }
      const sequenceNumber = metadata['last-sequence-number'] + 1;
      const carried: ManifestFile[] = [];
      const rewritten: ManifestFile[] = [];
      const found = new Set<string>();
      for (const manifest of await reader.manifestsOf(parent)) {
        if (manifest.content !== 0) throw new DeleteFilesPresentError(`${formatIdentifier(id)} has delete files (merge-on-read); rewriting its data files is not supported`);
        // Only deletions, recorded by an earlier snapshot: no reader needs it any more.
        if (manifest.addedFilesCount + manifest.existingFilesCount === 0 && manifest.deletedFilesCount > 0) continue;
        const entries = await reader.entriesOf(manifest);
        if (!entries.some((e) => isLive(e.entry) && replacedPaths.has(e.entry.dataFile.filePath))) {
          carried.push(manifest);
          continue;
        }
        const inputs: ManifestEntryInput[] = [];
        for (const e of entries) {
          if (!isLive(e.entry)) continue; // deleted by an earlier snapshot: not carried further
          const replacing = replacedPaths.has(e.entry.dataFile.filePath);
          if (replacing) found.add(e.entry.dataFile.filePath);
          inputs.push({
            status: replacing ? EntryStatus.DELETED : EntryStatus.EXISTING,
            snapshotId: replacing ? snapshotId : e.snapshotId,
            sequenceNumber: e.dataSequenceNumber,
            fileSequenceNumber: e.fileSequenceNumber,
            dataFile: e.entry.dataFile,
          });
        }
        const spec = partitionSpecById(metadata, manifest.partitionSpecId);
        const bytes = encodeManifestEntries(inputs, { schema, spec });
        const path = `${dir}/${randomUUID()}-m-rewritten.avro`;
        await catalog.fileIO.write(path, bytes);
        rewritten.push(manifestListEntry(path, bytes.byteLength, manifest.partitionSpecId, snapshotId, sequenceNumber, inputs, summarizePartitions(inputs.map((e) => e.dataFile), spec, schema)));
      }
      if (found.size !== replacedPaths.size) {
        throw new StaleRewriteError(`${replacedPaths.size - found.size} of the ${replacedPaths.size} files to replace in ${formatIdentifier(id)} are no longer live (rewritten or deleted concurrently); nothing was committed`);
      }
      const addedManifests = staged.map((m) => {
        const inputs = m.files.map((dataFile) => ({ status: EntryStatus.ADDED, snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile }));
        return manifestListEntry(m.path, m.length, m.specId, snapshotId, sequenceNumber, inputs, summarizePartitions(m.files, partitionSpecById(metadata, m.specId), schema));
      });
      const manifests = [...addedManifests, ...rewritten, ...carried];
      const listPath = `${dir}/snap-${snapshotId}-${attempt}-${randomUUID()}.avro`;
      await catalog.fileIO.write(listPath, encodeManifestList(manifests, { snapshotId, sequenceNumber, parentSnapshotId: parent['snapshot-id'] }));
      const timestamp = Math.max(now(), metadata['last-updated-ms']);
      const snapshot: Snapshot = {
        'snapshot-id': snapshotId,
        'parent-snapshot-id': parent['snapshot-id'],
        'sequence-number': sequenceNumber,
        'timestamp-ms': timestamp,
        'manifest-list': listPath,
        summary: {
          ...summaryOf(replaced, added, manifests, parent, options.summary ?? {}),
          'manifests-created': String(addedManifests.length + rewritten.length),
          'manifests-kept': String(carried.length),
          'manifests-replaced': String(rewritten.length),
        },
        'schema-id': metadata['current-schema-id'],
      };
      return {
        kind: 'commit',
        metadata: withSnapshot(metadata, snapshot, head.metadataLocation, timestamp),
        result: committed,
        landed: (reloaded) => (isInAncestry(reloaded.metadata, snapshotId) ? committed(reloaded) : undefined),
      };
    },
    {
      what: `rewrite of ${replaced.length} data files`,
      ...(options.base ? { base: options.base } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.onConflict ? { onConflict: options.onConflict } : {}),
    },
  );
}
