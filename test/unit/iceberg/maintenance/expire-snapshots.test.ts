import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expireSnapshots, retainedSnapshots } from '../../../../src/iceberg/maintenance/expire-snapshots.js';
import { rewriteDataFiles } from '../../../../src/iceberg/maintenance/rewrite-data-files.js';
import { SUMMARY_JOB_ID, SUMMARY_OPERATOR_ID } from '../../../../src/iceberg/snapshot-ancestry.js';
import type { Snapshot } from '../../../../src/iceberg/table-metadata.js';
import { append, currentFiles, ID, newTable, short, storedFile } from './support/table-history.js';

const JOB = { [SUMMARY_JOB_ID]: 'orders', [SUMMARY_OPERATOR_ID]: 'orders.table' };
/** Snapshot times after the table's creation (a commit is never stamped before the metadata it follows). */
const T = Date.now() + 60_000;
const byJob = (s: Snapshot) => s.summary[SUMMARY_JOB_ID] === 'orders' && s.summary[SUMMARY_OPERATOR_ID] === 'orders.table';

test('retention keeps the newest N, those younger than the age, ref heads, and the ancestry back to the job’s newest commit', async () => {
  const catalog = await newTable();
  const s1 = await append(catalog, ['a'], T + 1_000, JOB);
  const s2 = await append(catalog, ['b'], T + 2_000, JOB);
  const s3 = await append(catalog, ['c'], T + 3_000, JOB);
  const s4 = await append(catalog, ['d'], T + 4_000); // e.g. another writer
  const s5 = await append(catalog, ['e'], T + 5_000);
  const { metadata } = await catalog.loadTable(ID);
  const ids = (keep: Set<bigint>) => [s1, s2, s3, s4, s5].filter((s) => keep.has(s['snapshot-id'])).map((s) => s['sequence-number']);
  assert.deepEqual(ids(retainedSnapshots(metadata, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: T + 10_000 })), [5]);
  assert.deepEqual(ids(retainedSnapshots(metadata, { retainLast: 2, maxSnapshotAgeMs: 0, nowMs: T + 10_000 })), [4, 5]);
  assert.deepEqual(ids(retainedSnapshots(metadata, { retainLast: 1, maxSnapshotAgeMs: 8_000, nowMs: T + 10_000 })), [2, 3, 4, 5]);
  assert.deepEqual(ids(retainedSnapshots(metadata, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: T + 10_000, keepAncestryUntil: [byJob] })), [3, 4, 5]);
  // A predicate nothing matches keeps nothing extra.
  assert.deepEqual(ids(retainedSnapshots(metadata, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: T + 10_000, keepAncestryUntil: [() => false] })), [5]);
});

test('expiry deletes what only expired snapshots referenced, never a live or protected file', async () => {
  const catalog = await newTable();
  await append(catalog, ['f1', 'f2'], T + 1_000, JOB);
  await append(catalog, ['f3'], T + 2_000, JOB);
  // Compaction replaces f1 and f2 with g1 (no job summary: maintenance).
  await rewriteDataFiles(catalog, ID, [await storedFile(catalog, 'f1'), await storedFile(catalog, 'f2')], [await storedFile(catalog, 'g1', 19800, 20)]);
  const before = await catalog.loadTable(ID);
  const manifestLists = before.metadata.snapshots.map((s) => s['manifest-list']);

  // The job's last commit (f3) is kept: its files stay.
  const first = await expireSnapshots(catalog, ID, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: T + 100_000, keepAncestryUntil: [byJob] });
  assert.equal(first.expiredSnapshots.length, 1);
  assert.deepEqual(first.deletedDataFiles, [], 'f1 and f2 are live in the retained job commit');
  assert.deepEqual(first.deletedManifestLists, [manifestLists[0]]);

  // Without that protection the job's commit expires too; f2 is protected (a pending commit names it).
  const protectedFiles = new Set([(await storedFile(catalog, 'f2')).filePath]);
  const second = await expireSnapshots(catalog, ID, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: T + 100_000, protectedFiles });
  assert.equal(second.expiredSnapshots.length, 1);
  assert.deepEqual(second.deletedDataFiles.map(short), ['f1']);
  assert.deepEqual(second.keptProtected.map(short), ['f2']);
  assert.ok(!catalog.fileIO.files.has('mem://wh/sink/orders/data/f1.parquet'), 'f1 is gone from storage');
  for (const name of ['f2', 'f3', 'g1']) assert.ok(catalog.fileIO.files.has(`mem://wh/sink/orders/data/${name}.parquet`), `${name} stays`);
  assert.deepEqual((await currentFiles(catalog)).map(short), ['f3', 'g1']);
  const after = await catalog.loadTable(ID);
  assert.equal(after.metadata.snapshots.length, 1);
  assert.deepEqual(after.metadata['snapshot-log'].map((e) => e['snapshot-id']), [after.metadata['current-snapshot-id']]);
  for (const list of manifestLists.slice(0, 2)) assert.ok(!catalog.fileIO.files.has(list), 'manifest lists of expired snapshots are deleted');
  assert.ok(catalog.fileIO.files.has(after.metadata.snapshots[0]!['manifest-list']));
});

test('nothing to expire commits nothing', async () => {
  const catalog = await newTable();
  await append(catalog, ['f1'], T + 1_000);
  const commits = catalog.commits;
  const result = await expireSnapshots(catalog, ID, { retainLast: 5, maxSnapshotAgeMs: 0, nowMs: T + 2_000 });
  assert.deepEqual(result.expiredSnapshots, []);
  assert.equal(catalog.commits, commits);
});

test('an append landing while expiry commits is kept, and its files are not deleted', async () => {
  const catalog = await newTable();
  await append(catalog, ['f1'], T + 1_000);
  await append(catalog, ['f2'], T + 2_000);
  catalog.beforeSwap = async () => {
    await append(catalog, ['racing'], T + 3_000);
  };
  const result = await expireSnapshots(catalog, ID, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: T + 10_000 });
  // Planned again on the new head: the racing append is the current snapshot and is kept.
  assert.deepEqual((await currentFiles(catalog)).map(short), ['f1', 'f2', 'racing']);
  assert.deepEqual(result.deletedDataFiles, []);
  assert.equal((await catalog.loadTable(ID)).metadata.snapshots.length, 1);
});

test('with deleteUnreferencedFiles false (S3 Tables) only the snapshots go: every file stays for the storage’s own cleanup', async () => {
  const catalog = await newTable();
  await append(catalog, ['x1'], T + 1_000);
  await rewriteDataFiles(catalog, ID, [await storedFile(catalog, 'x1')], [await storedFile(catalog, 'y1')]);
  const result = await expireSnapshots(catalog, ID, { retainLast: 1, maxSnapshotAgeMs: 0, nowMs: T + 10_000, deleteUnreferencedFiles: false });
  assert.equal(result.expiredSnapshots.length, 1);
  assert.deepEqual([result.deletedDataFiles, result.deletedManifests, result.deletedManifestLists, result.failedDeletes], [[], [], [], []]);
  assert.equal((await catalog.loadTable(ID)).metadata.snapshots.length, 1);
  assert.equal(await catalog.fileIO.exists('mem://wh/sink/orders/data/x1.parquet'), true);
  assert.deepEqual((await currentFiles(catalog)).map(short), ['y1']);
});
