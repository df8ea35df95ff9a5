/**
 * Expire snapshots (Iceberg's `expire_snapshots`): drops snapshots beyond a count and an age
 * from the metadata (optimistic commit, planned again on every conflict), then deletes the files
 * only they referenced — manifest lists, manifests, and data files no retained snapshot holds
 * live — except files the caller protects (committables of pending commits).
 *
 * A snapshot is kept when it is the head of a ref, among the `retainLast` newest of the main
 * ancestry, younger than `maxSnapshotAgeMs`, or on the main ancestry between the current
 * snapshot and the newest one a `keepAncestryUntil` predicate accepts: a streaming job's
 * restores read its last commit's summary through the ancestry, so that commit and the
 * snapshots after it (e.g. compactions) must all stay.
 */
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog.js';
import { formatIdentifier } from '../catalog.js';
import { commitOptimistically } from '../optimistic-commit.js';
import { snapshotAncestry } from '../snapshot-ancestry.js';
import { metadataLogAfter, type Snapshot, type TableMetadata } from '../table-metadata.js';
import { deleteFiles } from './delete-files.js';
import { TableFileReader } from './table-file-reader.js';

export interface ExpireSnapshotsOptions {
  /** Newest snapshots of the main ancestry always kept (the current one counts; at least 1). */
  readonly retainLast: number;
  /** Snapshots younger than this are kept. */
  readonly maxSnapshotAgeMs: number;
  readonly nowMs: number;
  /** Keep the main ancestry back to the newest snapshot each predicate accepts. */
  readonly keepAncestryUntil?: readonly ((snapshot: Snapshot) => boolean)[];
  /** Files never deleted, whatever (no longer) references them. */
  readonly protectedFiles?: ReadonlySet<string>;
  /**
   * Delete the files only expired snapshots referenced (default true). S3 Tables refuses deletes
   * in a table's storage (405) and removes unreferenced files itself: there, only the snapshots go.
   */
  readonly deleteUnreferencedFiles?: boolean;
  readonly base?: LoadedTable;
  readonly maxAttempts?: number;
}

export interface ExpireSnapshotsResult {
  readonly table: LoadedTable;
  readonly expiredSnapshots: readonly bigint[];
  readonly deletedDataFiles: readonly string[];
  readonly deletedManifests: readonly string[];
  readonly deletedManifestLists: readonly string[];
  /** Unreferenced data files kept because they are protected. */
  readonly keptProtected: readonly string[];
  /** Deletes that failed (the files stay as orphans). */
  readonly failedDeletes: readonly { readonly location: string; readonly error: string }[];
}

/** Ids of the snapshots `metadata` keeps under `options`. */
export function retainedSnapshots(metadata: TableMetadata, options: Pick<ExpireSnapshotsOptions, 'retainLast' | 'maxSnapshotAgeMs' | 'nowMs' | 'keepAncestryUntil'>): Set<bigint> {
  const keep = new Set<bigint>();
  for (const ref of Object.values(metadata.refs)) keep.add(ref['snapshot-id']);
  const current = metadata['current-snapshot-id'];
  if (current !== undefined) keep.add(current);
  const ancestry = [...snapshotAncestry(metadata)];
  for (const s of ancestry.slice(0, Math.max(1, options.retainLast))) keep.add(s['snapshot-id']);
  const youngest = options.nowMs - options.maxSnapshotAgeMs;
  for (const s of metadata.snapshots) if (s['timestamp-ms'] >= youngest) keep.add(s['snapshot-id']);
  for (const accepts of options.keepAncestryUntil ?? []) {
    const until = ancestry.findIndex(accepts);
    for (const s of ancestry.slice(0, until + 1)) keep.add(s['snapshot-id']);
  }
  return keep;
}

/** `metadata` without the snapshots not in `keep`. */
function withoutSnapshots(metadata: TableMetadata, keep: ReadonlySet<bigint>, baseLocation: string, nowMs: number): TableMetadata {
  return {
    ...metadata,
    'last-updated-ms': Math.max(nowMs, metadata['last-updated-ms']),
    snapshots: metadata.snapshots.filter((s) => keep.has(s['snapshot-id'])),
    'snapshot-log': metadata['snapshot-log'].filter((e) => keep.has(e['snapshot-id'])),
    'metadata-log': metadataLogAfter(metadata, baseLocation),
  };
}

export async function expireSnapshots(catalog: Catalog, id: TableIdentifier, options: ExpireSnapshotsOptions): Promise<ExpireSnapshotsResult> {
  const committed = await commitOptimistically<{ table: LoadedTable; expired: Snapshot[] }>(
    catalog,
    id,
    async (head) => {
      const keep = retainedSnapshots(head.metadata, options);
      const expired = head.metadata.snapshots.filter((s) => !keep.has(s['snapshot-id']));
      if (expired.length === 0) return { kind: 'done', result: { table: head, expired } };
      const metadata = withoutSnapshots(head.metadata, keep, head.metadataLocation, options.nowMs);
      const gone = (reloaded: LoadedTable) => expired.every((e) => !reloaded.metadata.snapshots.some((s) => s['snapshot-id'] === e['snapshot-id']));
      return { kind: 'commit', metadata, result: (table) => ({ table, expired }), landed: (reloaded) => (gone(reloaded) ? { table: reloaded, expired } : undefined) };
    },
    { what: `expire snapshots of ${formatIdentifier(id)}`, ...(options.base ? { base: options.base } : {}), ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}) },
  );
  const { table, expired } = committed;
  const empty = { table, expiredSnapshots: [], deletedDataFiles: [], deletedManifests: [], deletedManifestLists: [], keptProtected: [], failedDeletes: [] };
  if (expired.length === 0) return empty;
  if (options.deleteUnreferencedFiles === false) return { ...empty, expiredSnapshots: expired.map((s) => s['snapshot-id']) };

  const reader = new TableFileReader(catalog.fileIO);
  const retainedLists = new Set<string>();
  const retainedManifests = new Set<string>();
  const retainedFiles = new Set<string>();
  for (const s of table.metadata.snapshots) {
    const refs = await reader.referencedBy(s, false);
    retainedLists.add(refs.manifestList);
    for (const m of refs.manifests) retainedManifests.add(m);
    for (const f of refs.files) retainedFiles.add(f);
  }
  const lists = new Set<string>();
  const manifests = new Set<string>();
  const files = new Set<string>();
  for (const s of expired) {
    // What an earlier, interrupted pass already deleted is simply gone.
    const refs = await reader.referencedBy(s, true).catch(() => undefined);
    if (refs === undefined) continue;
    lists.add(refs.manifestList);
    for (const m of refs.manifests) manifests.add(m);
    for (const f of refs.files) files.add(f);
  }
  const protectedFiles = options.protectedFiles ?? new Set<string>();
  const doomedFiles = [...files].filter((f) => !retainedFiles.has(f) && !protectedFiles.has(f));
  const keptProtected = [...files].filter((f) => !retainedFiles.has(f) && protectedFiles.has(f));
  // Data files first: a crash after them leaves manifests that only expired snapshots named — orphans, not dangling references.
  const data = await deleteFiles(catalog.fileIO, doomedFiles);
  const manifestOutcome = await deleteFiles(catalog.fileIO, [...manifests].filter((m) => !retainedManifests.has(m)));
  const listOutcome = await deleteFiles(catalog.fileIO, [...lists].filter((l) => !retainedLists.has(l)));
  return {
    table,
    expiredSnapshots: expired.map((s) => s['snapshot-id']),
    deletedDataFiles: data.deleted,
    deletedManifests: manifestOutcome.deleted,
    deletedManifestLists: listOutcome.deleted,
    keptProtected: keptProtected.sort(),
    failedDeletes: [...data.failed, ...manifestOutcome.failed, ...listOutcome.failed],
  };
}
