import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFiles } from '../../../src/iceberg/append-files.js';
import { CommitConflictError } from '../../../src/errors.js';
import { decodeManifest } from '../../../src/iceberg/manifest.js';
import { decodeManifestList } from '../../../src/iceberg/manifest-list.js';
import { currentSnapshot, type TableMetadata } from '../../../src/iceberg/table-metadata.js';
import { maxCommittedCheckpoint } from '../../../src/iceberg/snapshot-ancestry.js';
import { EntryStatus } from '../../../src/iceberg/manifest.js';
import { BY_DAY, ORDERS_SCHEMA, sampleDataFile } from './support/sample-table.js';
import { MemoryCatalog } from './support/memory-catalog.js';

const ID = { namespace: 'sink', name: 'orders' };
const FAST = { baseDelayMs: 1, maxDelayMs: 2 };

async function setup() {
  const catalog = new MemoryCatalog();
  await catalog.ensureTable(ID, { schema: ORDERS_SCHEMA, spec: BY_DAY });
  return catalog;
}

async function liveFiles(catalog: MemoryCatalog, md: TableMetadata): Promise<string[]> {
  const snap = currentSnapshot(md);
  if (!snap) return [];
  const out: string[] = [];
  for (const m of decodeManifestList(await catalog.fileIO.read(snap['manifest-list']))) {
    for (const e of decodeManifest(await catalog.fileIO.read(m.manifestPath)).entries) out.push(e.dataFile.filePath);
  }
  return out.sort();
}

test('sequential appends carry manifests over and keep summary totals', async () => {
  const catalog = await setup();
  const r1 = await appendFiles(catalog, ID, [sampleDataFile('f1', 19800, 10, 100), sampleDataFile('f2', 19801, 5, 50)], { ...FAST, summary: { 'streamline.checkpoint-id': '1' } });
  assert.equal(r1.attempts, 1);
  assert.equal(r1.snapshot['sequence-number'], 1);
  assert.equal(r1.snapshot['parent-snapshot-id'], undefined);
  assert.deepEqual({ ...r1.snapshot.summary }, {
    'streamline.checkpoint-id': '1',
    operation: 'append',
    'added-data-files': '2',
    'added-records': '15',
    'added-files-size': '150',
    'changed-partition-count': '2',
    'total-records': '15',
    'total-data-files': '2',
    'total-delete-files': '0',
    'total-files-size': '150',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
    'manifests-created': '1',
    'manifests-kept': '0',
    'manifests-replaced': '0',
  });
  const r2 = await appendFiles(catalog, ID, [sampleDataFile('f3', 19801, 7, 70)], FAST);
  assert.equal(r2.snapshot['sequence-number'], 2);
  assert.equal(r2.snapshot['parent-snapshot-id'], r1.snapshot['snapshot-id']);
  assert.equal(r2.snapshot.summary['total-records'], '22');
  assert.equal(r2.snapshot.summary['total-data-files'], '3');
  assert.equal(r2.snapshot.summary['total-files-size'], '220');
  const loaded = await catalog.loadTable(ID);
  assert.equal(loaded.metadata['last-sequence-number'], 2);
  assert.equal(loaded.metadata['metadata-log'].length, 2);
  assert.deepEqual(await liveFiles(catalog, loaded.metadata), ['f1', 'f2', 'f3']);
  const list = decodeManifestList(await catalog.fileIO.read(r2.snapshot['manifest-list']));
  assert.deepEqual(list.map((m) => m.sequenceNumber), [2, 1], 'new manifest gets the new sequence number, old one keeps its own');
});

test('a conflicting commit is rebased: both appends land once, sequence numbers rise', async () => {
  const catalog = await setup();
  await appendFiles(catalog, ID, [sampleDataFile('base', 19800, 1)], FAST);
  let conflicts = 0;
  catalog.beforeSwap = async () => {
    // another writer commits first
    await appendFiles(catalog, ID, [sampleDataFile('other', 19802, 2)], FAST);
  };
  const preconditionSeen: number[] = [];
  const r = await appendFiles(catalog, ID, [sampleDataFile('mine', 19803, 3)], {
    ...FAST,
    onConflict: () => conflicts++,
    precondition: (md) => preconditionSeen.push(md['last-sequence-number']),
  });
  assert.equal(r.attempts, 2);
  assert.equal(conflicts, 1);
  assert.deepEqual(preconditionSeen, [1, 2], 'precondition re-checked on the rebased head');
  assert.equal(r.snapshot['sequence-number'], 3);
  const md = (await catalog.loadTable(ID)).metadata;
  assert.deepEqual(await liveFiles(catalog, md), ['base', 'mine', 'other']);
  assert.equal(currentSnapshot(md)!.summary['total-records'], '6');
});

test('precondition failure aborts without committing', async () => {
  const catalog = await setup();
  await appendFiles(catalog, ID, [sampleDataFile('a', 1, 1)], { ...FAST, summary: { 'streamline.job-id': 'j', 'streamline.operator-id': 'o', 'streamline.checkpoint-id': '4' } });
  class Fenced extends Error {}
  await assert.rejects(
    appendFiles(catalog, ID, [sampleDataFile('b', 1, 1)], {
      ...FAST,
      precondition: (md) => {
        if (maxCommittedCheckpoint(md, 'j', 'o') === 4) throw new Fenced('newer token committed');
      },
    }),
    Fenced,
  );
  assert.equal(catalog.commits, 1);
});

test('gives up with CommitConflictError after maxAttempts, never deleting staged files', async () => {
  const catalog = await setup();
  let competitor = 0;
  const rearm = () => {
    catalog.beforeSwap = async () => {
      await appendFiles(catalog, ID, [sampleDataFile(`c${competitor++}`, 1, 1)], FAST);
      rearm();
    };
  };
  rearm();
  const err = await appendFiles(catalog, ID, [sampleDataFile('doomed', 1, 1)], { ...FAST, maxAttempts: 3 }).catch((e: unknown) => e);
  catalog.beforeSwap = undefined;
  assert.ok(err instanceof CommitConflictError, String(err));
  assert.equal(err.retriable, true);
  assert.match(err.message, /after 3 attempts/);
  assert.equal(catalog.fileIO.deleted.length, 0);
  const md = (await catalog.loadTable(ID)).metadata;
  assert.ok(!(await liveFiles(catalog, md)).includes('doomed'));
  // the staged manifest (referencing the doomed file) is still there for a later re-commit
  const manifests = [...catalog.fileIO.files.keys()].filter((k) => k.endsWith('-m0.avro'));
  const staged = await Promise.all(manifests.map(async (k) => decodeManifest(await catalog.fileIO.read(k)).entries[0]!.dataFile.filePath));
  assert.ok(staged.includes('doomed'));
});

test('a swap that landed but reported an error counts as committed (no duplicate)', async () => {
  const catalog = await setup();
  catalog.afterSwap = () => {
    catalog.afterSwap = undefined;
    throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  };
  const r = await appendFiles(catalog, ID, [sampleDataFile('once', 1, 4)], FAST);
  assert.equal(catalog.commits, 1);
  const md = (await catalog.loadTable(ID)).metadata;
  assert.equal(md.snapshots.length, 1);
  assert.equal(r.snapshot['snapshot-id'], md.snapshots[0]!['snapshot-id']);
});

test('computed summary keys cannot be overridden', async () => {
  const catalog = await setup();
  await assert.rejects(appendFiles(catalog, ID, [], { summary: { 'total-records': '1' } }), /computed/);
});

test('an empty append still records a snapshot (e.g. a checkpoint with no rows)', async () => {
  const catalog = await setup();
  const r = await appendFiles(catalog, ID, [], { ...FAST, summary: { 'streamline.checkpoint-id': '9' } });
  assert.equal(r.snapshot.summary['added-data-files'], '0');
  assert.equal(r.snapshot.summary['total-records'], '0');
});

test('small manifests are merged once a spec has min-count of them; entries keep their sequence numbers', async () => {
  const catalog = new MemoryCatalog();
  await catalog.ensureTable(ID, { schema: ORDERS_SCHEMA, spec: BY_DAY, properties: { 'commit.manifest.min-count-to-merge': '3' } });
  const results: Awaited<ReturnType<typeof appendFiles>>[] = [];
  for (let i = 1; i <= 5; i++) results.push(await appendFiles(catalog, ID, [sampleDataFile(`f${i}`, 19800 + i, i)], FAST));
  // commit 4 saw 3 carried manifests → merged into one; commit 5 carries [new4, merged]
  assert.equal(results[3]!.snapshot.summary['manifests-replaced'], '3');
  assert.equal(results[4]!.snapshot.summary['manifests-replaced'], '0');
  const md = (await catalog.loadTable(ID)).metadata;
  assert.deepEqual(await liveFiles(catalog, md), ['f1', 'f2', 'f3', 'f4', 'f5']);
  assert.equal(currentSnapshot(md)!.summary['total-records'], '15');
  assert.equal(currentSnapshot(md)!.summary['total-data-files'], '5');
  const list = decodeManifestList(await catalog.fileIO.read(results[3]!.snapshot['manifest-list']));
  assert.equal(list.length, 2);
  const merged = list.find((m) => m.existingFilesCount === 3)!;
  assert.equal(merged.sequenceNumber, 4);
  assert.equal(merged.minSequenceNumber, 1);
  assert.equal(merged.existingRowsCount, 6);
  const entries = decodeManifest(await catalog.fileIO.read(merged.manifestPath)).entries;
  assert.deepEqual(
    entries.map((e) => [e.dataFile.filePath, e.status, e.sequenceNumber, e.fileSequenceNumber, e.snapshotId]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    [1, 2, 3].map((i) => [`f${i}`, EntryStatus.EXISTING, BigInt(i), BigInt(i), results[i - 1]!.snapshot['snapshot-id']]),
  );
});
