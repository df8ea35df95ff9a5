/**
 * Optimistic append commit (spec "Optimistic Concurrency"): write the new manifests once, then per
 * attempt write a manifest list carrying over the head's manifests, a snapshot with the next
 * sequence number and summary, a metadata file, and swap the pointer with the head's version
 * token. On conflict: re-read, rebase on the new head, back off with jitter and retry, bounded.
 * Staged data files and manifests are never deleted: a retry (or a later re-commit) reuses them.
 */
import { randomUUID } from 'node:crypto';
import { partitionKeyOf, type DataFile } from './data-file.js';
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.js';
import { formatIdentifier } from './catalog.js';
import { CommitConflictError, isRetriable } from '../errors.js';
import { encodeManifest } from './manifest.js';
import { decodeManifestList, encodeManifestList, summarizePartitions, type ManifestFile } from './manifest-list.js';
import { backoffDelayMs } from '../remote/retry-policy.js';
import { nodeTimers } from '../remote/call-with-retry.js';
import { isInAncestry } from './snapshot-ancestry.js';
import { mergeManifests } from './manifest-merge.js';
import { looksPermanent } from './optimistic-commit.js';
import {
  currentSchema,
  currentSnapshot,
  newSnapshotId,
  partitionSpecById,
  withSnapshot,
  type Snapshot,
  type SnapshotSummary,
  type TableMetadata,
} from './table-metadata.js';
import { metadataDirectory } from './table-metadata-file.js';

export interface AppendFilesOptions {
  /**
   * Extra summary properties (e.g. `streamline.checkpoint-id`); may not redefine computed keys.
   * A function is called per attempt with the head the snapshot rebases on (e.g. to carry over
   * and extend a property of the head's snapshot).
   */
  readonly summary?: Readonly<Record<string, string>> | ((head: TableMetadata) => Readonly<Record<string, string>>);
  /**
   * Checked against the head metadata before every attempt, rebases included; throw to abort
   * (e.g. a newer fencing token already committed). The error propagates unchanged.
   */
  readonly precondition?: (current: TableMetadata) => void;
  /** Commit attempts before giving up with CommitConflictError (default 10). */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Start from an already loaded state instead of loading the table. */
  readonly base?: LoadedTable;
  /** Called on each conflict before backing off (metrics, logs). */
  readonly onConflict?: (attempt: number, error: unknown) => void;
  readonly nowMs?: () => number;
}

export interface AppendFilesResult {
  /** The table as committed (metadata includes the new snapshot). */
  readonly table: LoadedTable;
  readonly snapshot: Snapshot;
  /** Attempts used (1 = no conflict). */
  readonly attempts: number;
}

/** Summary keys computed by the append; callers cannot override them. */
const COMPUTED_KEYS = new Set([
  'operation',
  'added-data-files',
  'added-records',
  'added-files-size',
  'changed-partition-count',
  'total-records',
  'total-data-files',
  'total-delete-files',
  'total-files-size',
  'total-position-deletes',
  'total-equality-deletes',
  'manifests-created',
  'manifests-kept',
  'manifests-replaced',
]);

interface StagedManifest {
  readonly location: string;
  readonly length: number;
  readonly specId: number;
  readonly files: readonly DataFile[];
  readonly partitions: ManifestFile['partitions'];
}

async function stageManifests(catalog: Catalog, table: LoadedTable, files: readonly DataFile[], snapshotId: bigint): Promise<StagedManifest[]> {
  const bySpec = new Map<number, DataFile[]>();
  for (const f of files) bySpec.set(f.specId, [...(bySpec.get(f.specId) ?? []), f]);
  const schema = currentSchema(table.metadata);
  const dir = metadataDirectory(table.metadata.location);
  const prefix = randomUUID();
  const staged: StagedManifest[] = [];
  let i = 0;
  for (const [specId, group] of bySpec) {
    const spec = partitionSpecById(table.metadata, specId);
    const bytes = encodeManifest(group, { schema, spec, snapshotId });
    const location = `${dir}/${prefix}-m${i++}.avro`;
    await catalog.fileIO.write(location, bytes);
    staged.push({ location, length: bytes.byteLength, specId, files: group, partitions: summarizePartitions(group, spec, schema) });
  }
  return staged;
}

function buildSummary(
  files: readonly DataFile[],
  manifests: readonly ManifestFile[],
  parent: Snapshot | undefined,
  extra: Readonly<Record<string, string>>,
): SnapshotSummary {
  const addedSize = files.reduce((n, f) => n + f.fileSizeInBytes, 0);
  const live = (content: 0 | 1) => manifests.filter((m) => m.content === content);
  const sum = (ms: ManifestFile[], pick: (m: ManifestFile) => number) => ms.reduce((n, m) => n + pick(m), 0);
  const parentTotal = (key: string): number | undefined => {
    if (!parent) return 0;
    const v = parent.summary[key];
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const summary: Record<string, string> = {
    ...extra,
    operation: 'append',
    'added-data-files': String(files.length),
    'added-records': String(files.reduce((n, f) => n + f.recordCount, 0)),
    'added-files-size': String(addedSize),
    'changed-partition-count': String(new Set(files.map(partitionKeyOf)).size),
    // Live counts come straight from the manifest list, so they stay right whoever wrote the parent.
    'total-records': String(sum(live(0), (m) => m.addedRowsCount + m.existingRowsCount)),
    'total-data-files': String(sum(live(0), (m) => m.addedFilesCount + m.existingFilesCount)),
    'total-delete-files': String(sum(live(1), (m) => m.addedFilesCount + m.existingFilesCount)),
  };
  const parentSize = parentTotal('total-files-size');
  if (parentSize !== undefined) summary['total-files-size'] = String(parentSize + addedSize);
  for (const key of ['total-position-deletes', 'total-equality-deletes']) {
    const v = parentTotal(key);
    if (v !== undefined) summary[key] = String(v);
  }
  return summary as SnapshotSummary;
}

/**
 * Appends `files` to the table in one snapshot, retrying conflicts. Throws CommitConflictError
 * after `maxAttempts`, or whatever `precondition` throws.
 */
export async function appendFiles(
  catalog: Catalog,
  id: TableIdentifier,
  files: readonly DataFile[],
  options: AppendFilesOptions = {},
): Promise<AppendFilesResult> {
  const checkedSummary = (extra: Readonly<Record<string, string>>): Readonly<Record<string, string>> => {
    for (const key of Object.keys(extra)) {
      if (COMPUTED_KEYS.has(key)) throw new Error(`snapshot summary key '${key}' is computed by the append and cannot be set`);
    }
    return extra;
  };
  const summaryFor = typeof options.summary === 'function' ? options.summary : () => options.summary as Readonly<Record<string, string>> | undefined;
  if (typeof options.summary === 'object') checkedSummary(options.summary);
  const maxAttempts = options.maxAttempts ?? 10;
  const backoff = { baseDelayMs: options.baseDelayMs ?? 100, maxDelayMs: options.maxDelayMs ?? 5000 };
  const now = options.nowMs ?? Date.now;
  const snapshotId = newSnapshotId();
  let head = options.base ?? (await catalog.loadTable(id));
  const staged = await stageManifests(catalog, head, files, snapshotId);
  const listCache = new Map<string, ManifestFile[]>();
  let lastError: unknown;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    options.precondition?.(head.metadata);
    const parent = currentSnapshot(head.metadata);
    let carried: ManifestFile[] = [];
    if (parent) {
      carried = listCache.get(parent['manifest-list']) ?? decodeManifestList(await catalog.fileIO.read(parent['manifest-list']));
      listCache.set(parent['manifest-list'], carried);
    }
    const sequenceNumber = head.metadata['last-sequence-number'] + 1;
    const added: ManifestFile[] = staged.map((m) => ({
      manifestPath: m.location,
      manifestLength: m.length,
      partitionSpecId: m.specId,
      content: 0,
      sequenceNumber,
      minSequenceNumber: sequenceNumber,
      addedSnapshotId: snapshotId,
      addedFilesCount: m.files.length,
      existingFilesCount: 0,
      deletedFilesCount: 0,
      addedRowsCount: m.files.reduce((n, f) => n + f.recordCount, 0),
      existingRowsCount: 0,
      deletedRowsCount: 0,
      partitions: m.partitions,
    }));
    // Merged manifests depend on the head, so they are redone on every attempt.
    const merged = await mergeManifests(catalog.fileIO, head.metadata, carried, { snapshotId, sequenceNumber });
    const manifests = [...added, ...merged.manifests];
    const listLocation = `${metadataDirectory(head.metadata.location)}/snap-${snapshotId}-${attempt}-${randomUUID()}.avro`;
    await catalog.fileIO.write(
      listLocation,
      encodeManifestList(manifests, { snapshotId, sequenceNumber, ...(parent ? { parentSnapshotId: parent['snapshot-id'] } : {}) }),
    );
    const timestamp = Math.max(now(), head.metadata['last-updated-ms']);
    const snapshot: Snapshot = {
      'snapshot-id': snapshotId,
      ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
      'sequence-number': sequenceNumber,
      'timestamp-ms': timestamp,
      'manifest-list': listLocation,
      summary: {
        ...buildSummary(files, manifests, parent, checkedSummary(summaryFor(head.metadata) ?? {})),
        'manifests-created': String(added.length + merged.created),
        'manifests-kept': String(carried.length - merged.replaced),
        'manifests-replaced': String(merged.replaced),
      },
      'schema-id': head.metadata['current-schema-id'],
    };
    const next = withSnapshot(head.metadata, snapshot, head.metadataLocation, timestamp);
    try {
      const table = await catalog.commitTable(head, next);
      return { table, snapshot, attempts: attempt };
    } catch (error) {
      lastError = error;
      // The swap may have landed even though we saw an error (lost response, SDK retry then 409).
      const reloaded = await catalog.loadTable(id).catch(() => undefined);
      if (reloaded && isInAncestry(reloaded.metadata, snapshotId)) {
        const committed = reloaded.metadata.snapshots.find((s) => s['snapshot-id'] === snapshotId)!;
        return { table: reloaded, snapshot: committed, attempts: attempt };
      }
      if (!isRetriable(error) && looksPermanent(error)) throw error;
      options.onConflict?.(attempt, error);
      if (attempt < maxAttempts) await nodeTimers.sleep(backoffDelayMs(attempt, backoff));
      head = reloaded ?? (await catalog.loadTable(id));
    }
  }
  throw new CommitConflictError(
    `append to ${formatIdentifier(id)} failed after ${maxAttempts} attempts (snapshot ${snapshotId} not committed; staged files kept): ${
      lastError instanceof Error ? lastError.message : String(lastError)
    }`,
    { cause: lastError },
  );
}
