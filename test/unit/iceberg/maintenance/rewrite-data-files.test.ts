import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFiles } from '../../../../src/iceberg/append-files.js';
import { decodeManifest, EntryStatus } from '../../../../src/iceberg/manifest.js';
import { decodeManifestList } from '../../../../src/iceberg/manifest-list.js';
import { rewriteDataFiles, StaleRewriteError } from '../../../../src/iceberg/maintenance/rewrite-data-files.js';
import { currentSnapshot } from '../../../../src/iceberg/table-metadata.js';
import { append, currentFiles, FAST, filesOf, ID, newTable, short, storedFile } from './support/table-history.js';

test('a rewrite replaces files in one replace snapshot: same rows, replaced entries DELETED with explicit sequence numbers', async () => {
  const catalog = await newTable();
  await append(catalog, ['f1', 'f2'], 1_000);
  await append(catalog, ['f3'], 2_000);
  const head = await catalog.loadTable(ID);
  const [f1, f2] = (await filesOf(catalog, currentSnapshot(head.metadata))).live.slice(0, 2);
  const replaced = [await storedFile(catalog, short(f1!)), await storedFile(catalog, short(f2!))];
  const g1 = await storedFile(catalog, 'g1', 19800, 20);
  const { snapshot } = await rewriteDataFiles(catalog, ID, replaced, [g1], { summary: { 'streamline.maintenance': 'compaction' } });
  assert.equal(snapshot.summary.operation, 'replace');
  assert.equal(snapshot.summary['deleted-data-files'], '2');
  assert.equal(snapshot.summary['added-data-files'], '1');
  assert.equal(snapshot.summary['total-records'], '30', 'rows before and after are the same');
  assert.equal(snapshot.summary['total-data-files'], '2');
  assert.equal(snapshot['sequence-number'], 3);
  assert.deepEqual((await currentFiles(catalog)).map(short), ['f3', 'g1']);
  for (const m of decodeManifestList(await catalog.fileIO.read(snapshot['manifest-list']))) {
    for (const e of decodeManifest(await catalog.fileIO.read(m.manifestPath)).entries) {
      if (e.status === EntryStatus.DELETED) {
        assert.equal(e.snapshotId, snapshot['snapshot-id'], 'a deleted entry names the snapshot that deleted it');
        assert.equal(e.sequenceNumber, 1n, 'and keeps the data sequence number of the append that added it');
      }
      if (e.status === EntryStatus.EXISTING) assert.notEqual(e.sequenceNumber, null);
    }
  }
});

test('an append that lands while the rewrite commits is carried over: it is in the table exactly once', async () => {
  const catalog = await newTable();
  await append(catalog, ['f1', 'f2'], 1_000);
  const replaced = [await storedFile(catalog, 'f1'), await storedFile(catalog, 'f2')];
  const g1 = await storedFile(catalog, 'g1', 19800, 20);
  const racing = await storedFile(catalog, 'racing', 19801, 7);
  let raced = false;
  catalog.beforeSwap = async () => {
    raced = true;
    await appendFiles(catalog, ID, [racing], { ...FAST, summary: { 'streamline.checkpoint-id': '9' } });
  };
  let conflicts = 0;
  const { snapshot } = await rewriteDataFiles(catalog, ID, replaced, [g1], { onConflict: () => conflicts++ });
  assert.ok(raced);
  assert.equal(conflicts, 1);
  const files = await currentFiles(catalog);
  assert.deepEqual(files.map(short), ['g1', 'racing']);
  assert.equal(files.filter((f) => f === racing.filePath).length, 1);
  assert.equal(snapshot.summary['total-records'], '27');
  // The streaming append after the rewrite, too: it rebases on the replace snapshot.
  await appendFiles(catalog, ID, [await storedFile(catalog, 'after', 19801, 3)], FAST);
  assert.deepEqual((await currentFiles(catalog)).map(short), ['after', 'g1', 'racing']);
});

test('a rewrite whose files were rewritten concurrently commits nothing (StaleRewriteError)', async () => {
  const catalog = await newTable();
  await append(catalog, ['f1', 'f2'], 1_000);
  const f1 = await storedFile(catalog, 'f1');
  const f2 = await storedFile(catalog, 'f2');
  catalog.beforeSwap = async () => {
    await rewriteDataFiles(catalog, ID, [f1], [await storedFile(catalog, 'other')]);
  };
  await assert.rejects(rewriteDataFiles(catalog, ID, [f1, f2], [await storedFile(catalog, 'mine', 19800, 20)]), StaleRewriteError);
  assert.deepEqual((await currentFiles(catalog)).map(short), ['f2', 'other']);
});
