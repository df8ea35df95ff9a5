/** Local warehouse catalog, read back by pyiceberg (StaticTable) — concurrent writers included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCatalog } from '../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { maxCommittedCheckpoint, maxFencingToken } from '../../../src/iceberg/snapshot-ancestry.js';
import { readIcebergTable, uniqueName } from '../../helpers/services.js';
import { assertReadBack, runConcurrentWriters } from './support/concurrent-writers.js';

test('local warehouse: two concurrent writers, every row once, pyiceberg reads schema/partitions/summaries', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'icemeta-int-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const id = { namespace: 'sink', name: uniqueName('orders_') };
  const jobId = 'orders-job';
  const catalogs = [0, 1].map(() => new LocalCatalog({ warehouse: dir, fileIO: new LocalFileIO() }));
  const scenario = await runConcurrentWriters(catalogs, id, { batches: 4, rowsPerBatch: 250, jobId });
  assert.ok(scenario.conflicts >= 1, 'writers sharing a base must conflict at least once');

  const read = await readIcebergTable(scenario.metadataLocation, { column: 'order_id', files: true });
  assertReadBack(read, scenario, 2, jobId);
  // the table folder works too (version-hint.text)
  const viaHint = await readIcebergTable(path.join(dir, 'sink', id.name));
  assert.equal(viaHint.currentSnapshotId, read.currentSnapshotId);

  const md = (await catalogs[1]!.loadTable(id)).metadata;
  assert.equal(maxCommittedCheckpoint(md, jobId, 'sink-0'), 4);
  assert.equal(maxFencingToken(md, jobId), 2n);
  t.diagnostic(`conflicts retried: ${scenario.conflicts}, commits: ${scenario.commits}`);
});
