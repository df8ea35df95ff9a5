import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCatalog } from '../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { CommitConflictError, NoSuchTableError } from '../../../src/errors.js';
import { appendFiles } from '../../../src/iceberg/append-files.js';
import { withSnapshot, newSnapshotId } from '../../../src/iceberg/table-metadata.js';
import { BY_DAY, ORDERS_SCHEMA, sampleDataFile } from './support/sample-table.js';

const ID = { namespace: 'sink', name: 'orders' };

async function warehouse(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'icemeta-wh-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const catalogFor = (dir: string, opts = {}) => new LocalCatalog({ warehouse: dir, fileIO: new LocalFileIO(), ...opts });

test('creates <warehouse>/<ns>/<table>/metadata with a version hint pyiceberg understands', async (t) => {
  const dir = await warehouse(t);
  const catalog = catalogFor(dir);
  await assert.rejects(catalog.loadTable(ID), NoSuchTableError);
  const table = await catalog.ensureTable(ID, { schema: ORDERS_SCHEMA, spec: BY_DAY });
  assert.equal(table.metadata.location, `file://${path.join(dir, 'sink', 'orders')}`);
  const hint = await readFile(path.join(dir, 'sink', 'orders', 'metadata', 'version-hint.text'), 'utf8');
  assert.match(hint, /^00000-[0-9a-f-]{36}$/);
  assert.equal(table.metadataLocation, `file://${path.join(dir, 'sink', 'orders', 'metadata', `${hint}.metadata.json`)}`);
  const again = await catalogFor(dir).ensureTable(ID, { schema: ORDERS_SCHEMA });
  assert.equal(again.metadata['table-uuid'], table.metadata['table-uuid']);
  await assert.rejects(stat(path.join(dir, 'sink', 'orders', 'metadata', 'commit.lock')), /ENOENT/);
});

test('concurrent creators agree on one table', async (t) => {
  const dir = await warehouse(t);
  const tables = await Promise.all(Array.from({ length: 5 }, () => catalogFor(dir).ensureTable(ID, { schema: ORDERS_SCHEMA })));
  assert.equal(new Set(tables.map((x) => x.metadata['table-uuid'])).size, 1);
});

test('two commits on the same base: exactly one wins', async (t) => {
  const dir = await warehouse(t);
  const base = await catalogFor(dir).ensureTable(ID, { schema: ORDERS_SCHEMA });
  const snap = (seq: number) => ({
    'snapshot-id': newSnapshotId(),
    'sequence-number': seq,
    'timestamp-ms': Date.now(),
    'manifest-list': 'file:///nowhere.avro',
    summary: { operation: 'append' as const },
  });
  const results = await Promise.allSettled([
    catalogFor(dir).commitTable(base, withSnapshot(base.metadata, snap(1), base.metadataLocation)),
    catalogFor(dir).commitTable(base, withSnapshot(base.metadata, snap(1), base.metadataLocation)),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.ok(failed.reason instanceof CommitConflictError);
  const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ metadataLocation: string }>).value;
  assert.equal((await catalogFor(dir).loadTable(ID)).metadataLocation, winner.metadataLocation);
});

test('many concurrent appenders all land exactly once', async (t) => {
  const dir = await warehouse(t);
  await catalogFor(dir).ensureTable(ID, { schema: ORDERS_SCHEMA, spec: BY_DAY });
  const writers = 4;
  const perWriter = 3;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const catalog = catalogFor(dir);
      for (let i = 0; i < perWriter; i++) {
        await appendFiles(catalog, ID, [sampleDataFile(`file:///d/w${w}-${i}.parquet`, 19800 + i, 10)], { baseDelayMs: 2, maxDelayMs: 50, maxAttempts: 50 });
      }
    }),
  );
  const md = (await catalogFor(dir).loadTable(ID)).metadata;
  assert.equal(md.snapshots.length, writers * perWriter);
  assert.equal(md['last-sequence-number'], writers * perWriter);
  const current = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id'])!;
  assert.equal(current.summary['total-records'], String(writers * perWriter * 10));
  assert.equal(current.summary['total-data-files'], String(writers * perWriter));
});

test('a stale lock left by a crashed writer is broken; a fresh one makes writers wait', async (t) => {
  const dir = await warehouse(t);
  const base = await catalogFor(dir).ensureTable(ID, { schema: ORDERS_SCHEMA });
  const lock = path.join(dir, 'sink', 'orders', 'metadata', 'commit.lock');
  await writeFile(lock, 'crashed');
  await assert.rejects(appendFiles(catalogFor(dir, { lockWaitMs: 100 }), ID, [], { base, maxAttempts: 1 }), CommitConflictError);
  const old = new Date(Date.now() - 120_000);
  await utimes(lock, old, old);
  const r = await appendFiles(catalogFor(dir, { staleLockMs: 60_000 }), ID, [], { maxAttempts: 1 });
  assert.equal(r.snapshot['sequence-number'], 1);
});
