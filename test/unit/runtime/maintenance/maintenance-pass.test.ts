/**
 * A maintenance pass reads what the job's retained checkpoints hold pending without running the
 * job, and keeps those files: a standby job on a real local table whose commits fail for a while
 * (so completed checkpoints carry uncommitted files), aborted like a crash, then maintained with
 * everything backdated past the safety age, then restarted — the restore re-commits the pending
 * files, and every record is in the table once. Checkpoint scopes of instances that left are
 * deleted unless the table names them or they are recent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { appendFiles } from '../../../../src/iceberg/append-files.js';
import type { Catalog, LoadedTable, TableDefinition, TableIdentifier } from '../../../../src/iceberg/catalog.js';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { decodeManifest } from '../../../../src/iceberg/manifest.js';
import { decodeManifestList } from '../../../../src/iceberg/manifest-list.js';
import { SUMMARY_CHECKPOINT_ID, SUMMARY_CHECKPOINT_SCOPE, SUMMARY_JOB_ID, SUMMARY_OPERATOR_ID, SUMMARY_SPLITS } from '../../../../src/iceberg/snapshot-ancestry.js';
import type { TableMetadata } from '../../../../src/iceberg/table-metadata.js';
import { encodeSplitMap } from '../../../../src/operators/sinks/iceberg/split-progress-summary.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { runMaintenancePass } from '../../../../src/runtime/maintenance/maintenance-pass.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';
import { writeCheckpoint } from '../checkpoint/checkpoint-store-contract.js';
import { assertExactlyOnce, committedAll, COUNTS_TABLE, countsFlow, countsTable } from '../execution/support/counts-table.js';
import { InMemoryTopic, inMemorySplitSource } from '../execution/support/in-memory-split-group.js';

const DAY_MS = 86_400_000;

/** The local catalog whose commits can be made to fail (access denied: not retried). */
class FlakyCatalog implements Catalog {
  failCommits = false;
  readonly fileIO;
  constructor(private readonly inner: LocalCatalog) {
    this.fileIO = inner.fileIO;
  }
  loadTable(id: TableIdentifier): Promise<LoadedTable> {
    return this.inner.loadTable(id);
  }
  ensureTable(id: TableIdentifier, definition: TableDefinition): Promise<LoadedTable> {
    return this.inner.ensureTable(id, definition);
  }
  async commitTable(base: LoadedTable, metadata: TableMetadata): Promise<LoadedTable> {
    if (this.failCommits) throw Object.assign(new Error('access denied (test)'), { $metadata: { httpStatusCode: 403 } });
    return this.inner.commitTable(base, metadata);
  }
}

async function backdate(dir: string, ageMs: number): Promise<void> {
  const when = new Date(Date.now() - ageMs);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await backdate(path, ageMs);
    await utimes(path, when, when);
  }
}

async function until(what: string, condition: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maintenance-pass-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('files of pending commits in retained checkpoints survive maintenance; the restore commits them; exactly once', { timeout: 120_000 }, async () => {
  const local = new LocalCatalog({ warehouse: join(dir, 'warehouse'), fileIO: new LocalFileIO() });
  const catalog = new FlakyCatalog(local);
  const store = new LocalCheckpointStore(join(dir, 'checkpoints'));
  const topic = new InMemoryTopic(3);
  const runner = () =>
    new JobRunner({
      flow: countsFlow(inMemorySplitSource(topic, undefined), catalog as unknown as LocalCatalog),
      store,
      checkpoint: { intervalMs: 20, retain: 3 },
      metrics: new MetricsRegistry(),
      logger: silentLogger(),
      deadLetters: new FileDeadLetterSink(join(dir, 'dead-letters.jsonl')),
    });

  // Committed history: many small appends (one batch per commit).
  const first = runner();
  const firstDone = first.run();
  for (let batch = 0; batch < 6; batch++) {
    topic.append(25);
    await committedAll(local, topic);
  }
  await first.stop();
  await firstDone;

  // Commits fail: completed checkpoints now carry files the table does not reference. Then a crash.
  catalog.failCommits = true;
  const second = runner();
  const secondDone = second.run();
  secondDone.catch(() => undefined);
  const data = join(dir, 'warehouse', 'sink', 'counts', 'data');
  const dataFiles = async () => (await readdir(data)).filter((n) => n.endsWith('.parquet')).sort();
  const committedFiles = (await dataFiles()).length;
  for (let batch = 1; batch <= 3; batch++) {
    topic.append(30);
    await until(`checkpoint ${batch} with uncommitted files completed`, async () => (await dataFiles()).length >= committedFiles + batch && (await store.listCompleted('counts')).length >= 3);
  }
  // One more checkpoint after the last file, so a completed checkpoint lists all three pending.
  const last = (await store.listCompleted('counts'))[0]!.metadata.checkpointId;
  await until('a later checkpoint completed', async () => (await store.listCompleted('counts'))[0]!.metadata.checkpointId > last + 1);
  second.abort(new Error('crash (test)'));
  await secondDone.catch(() => undefined);
  catalog.failCommits = false;
  const referenced = await referencedDataFiles(local);
  const uncommitted = (await dataFiles()).filter((name) => !referenced.has(name));
  assert.ok(uncommitted.length >= 3, `files written for pending commits: ${uncommitted.length}`);

  // Everything is old now, and a stray file nobody names sits beside the data.
  await writeFile(join(data, 'stray-from-a-crash.parquet'), 'x');
  await backdate(dir, 10 * DAY_MS);

  const result = await runMaintenancePass({ flow: countsFlow(inMemorySplitSource(topic, undefined), local), store, logger: silentLogger(), clock: systemClock, scopeMinAgeMs: 3 * DAY_MS });
  const [report] = result.outputs;
  assert.deepEqual(report?.failures, []);
  assert.ok(result.pendingCommittables['counts.table']! >= uncommitted.length, `pending in checkpoints: ${JSON.stringify(result.pendingCommittables)}`);
  assert.ok((report?.counts['compacted-files'] ?? 0) >= 5, `compaction ran: ${JSON.stringify(report)}`);
  assert.ok(!existsSync(join(data, 'stray-from-a-crash.parquet')), 'the stray file is deleted');
  const remaining = new Set(await dataFiles());
  for (const name of uncommitted.filter((n) => n !== 'stray-from-a-crash.parquet')) assert.ok(remaining.has(name), `${name}, named by a pending commit, survives`);

  // The restart re-commits the pending files: nothing lost, nothing twice.
  const third = runner();
  const thirdDone = third.run();
  await committedAll(local, topic);
  await third.stop();
  await thirdDone;
  await assertExactlyOnce(local, topic);
});

it('checkpoint scopes of instances that left are deleted; those the table names, or recently active, stay', { timeout: 60_000 }, async () => {
  const local = new LocalCatalog({ warehouse: join(dir, 'scopes', 'warehouse'), fileIO: new LocalFileIO() });
  const store = new LocalCheckpointStore(join(dir, 'scopes', 'checkpoints'));
  await local.ensureTable(COUNTS_TABLE, { schema: countsTable });
  // Group mode: the table names a checkpoint of instance i-000000aa (which may be gone: the next owner restores from it).
  await appendFiles(local, COUNTS_TABLE, [], {
    summary: {
      [SUMMARY_JOB_ID]: 'counts',
      [SUMMARY_OPERATOR_ID]: 'counts.table',
      [SUMMARY_CHECKPOINT_SCOPE]: 'counts.i-000000aa',
      [SUMMARY_CHECKPOINT_ID]: '3',
      [SUMMARY_SPLITS]: encodeSplitMap(new Map([['t:0', { position: 5, checkpoint: { scope: 'counts.i-000000aa', checkpointId: 3 } }]])),
    },
  });
  await writeCheckpoint(store, 'counts.i-0000dead', 1);
  await writeCheckpoint(store, 'counts.i-000000aa', 3);
  await writeCheckpoint(store, 'counts.other', 1); // not an instance scope: never touched
  await backdate(join(dir, 'scopes'), 10 * DAY_MS);
  await writeCheckpoint(store, 'counts.i-0000beef', 1); // active
  const result = await runMaintenancePass({ flow: countsFlow(inMemorySplitSource(new InMemoryTopic(1), undefined), local), store, logger: silentLogger(), clock: systemClock, scopeMinAgeMs: 3 * DAY_MS });
  assert.deepEqual(result.discardedScopes, ['counts.i-0000dead']);
  assert.deepEqual(result.keptScopes, ['counts.i-000000aa', 'counts.i-0000beef']);
  assert.deepEqual((await readdir(join(dir, 'scopes', 'checkpoints'))).sort(), ['counts.i-000000aa', 'counts.i-0000beef', 'counts.other']);
});

/** Data file names the table's snapshots reference (read from the manifests directly). */
async function referencedDataFiles(catalog: LocalCatalog): Promise<Set<string>> {
  const names = new Set<string>();
  for (const s of (await catalog.loadTable(COUNTS_TABLE)).metadata.snapshots) {
    for (const m of decodeManifestList(await catalog.fileIO.read(s['manifest-list']))) {
      for (const e of decodeManifest(await catalog.fileIO.read(m.manifestPath)).entries) names.add(e.dataFile.filePath.slice(e.dataFile.filePath.lastIndexOf('/') + 1));
    }
  }
  return names;
}
