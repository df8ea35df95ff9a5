/**
 * The Iceberg committer with split progress, against a real LocalCatalog on a temp dir and real
 * Parquet data files. Group mode (after `claimSplits`): instances share one table, each carrying
 * the others' `streamline.splits` entries over and fenced as soon as another one moves a split it
 * claimed; a commit that landed unseen is recognized and not repeated. Standby mode (no claim):
 * split progress is recorded, and the idempotency skip is per checkpoint scope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Catalog, LoadedTable, TableDefinition, TableIdentifier } from '../../../../../src/iceberg/catalog.js';
import { CommitConflictError } from '../../../../../src/errors.js';
import type { DataFile } from '../../../../../src/iceberg/data-file.js';
import { DataFileWriter } from '../../../../../src/iceberg/data-file-writer.js';
import { LocalCatalog } from '../../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../../src/iceberg/local-file-io.js';
import type { Schema } from '../../../../../src/iceberg/schema.js';
import { SUMMARY_CHECKPOINT_ID, SUMMARY_CHECKPOINT_SCOPE, SUMMARY_SPLITS } from '../../../../../src/iceberg/snapshot-ancestry.js';
import type { Snapshot, TableMetadata } from '../../../../../src/iceberg/table-metadata.js';
import { createIcebergCommitter } from '../../../../../src/operators/sinks/iceberg/iceberg-committer.js';
import type { IcebergSinkOptions } from '../../../../../src/operators/sinks/iceberg/iceberg-sink-options.js';
import { decodeSplitMap, readSplitMap } from '../../../../../src/operators/sinks/iceberg/split-progress-summary.js';
import { FencedError } from '../../../../../src/errors.js';
import type { CommitRequest, CommittedSplit, Committer, SinkContext } from '../../../../../src/runtime/sink.js';
import { testSinkContext } from '../../operator-harness.js';

const JOB = 'job';
const STEP = 'sink.events';
const TABLE: TableIdentifier = { namespace: 'sink', name: 'events' };
const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'tag', required: true, type: 'string' },
  ],
};
const S0 = 'events:0';
const S1 = 'events:1';
const S2 = 'events:2';
const SCOPE_A = 'job.i-a';
const SCOPE_B = 'job.i-b';

type Tc = { after: (fn: () => Promise<void>) => void };
/** A committer that loops instead of failing must fail the test, not hang it. */
const LIMIT = { timeout: 15_000 };

/** A Catalog that can lose the response of its next commit: the swap lands, the caller sees an error and cannot reload right away. */
class FlakyCatalog implements Catalog {
  private loseNextResponse = false;
  private failLoads = 0;
  constructor(private readonly inner: Catalog) {}
  get fileIO() {
    return this.inner.fileIO;
  }
  loseResponseOfNextCommit(): void {
    this.loseNextResponse = true;
  }
  async loadTable(id: TableIdentifier): Promise<LoadedTable> {
    if (this.failLoads > 0) {
      this.failLoads--;
      throw new Error('network down');
    }
    return this.inner.loadTable(id);
  }
  ensureTable(id: TableIdentifier, definition: TableDefinition): Promise<LoadedTable> {
    return this.inner.ensureTable(id, definition);
  }
  async commitTable(base: LoadedTable, metadata: TableMetadata): Promise<LoadedTable> {
    const result = await this.inner.commitTable(base, metadata);
    if (this.loseNextResponse) {
      this.loseNextResponse = false;
      this.failLoads = 1; // the check "did it land anyway?" fails too
      throw new Error('connection reset after the swap');
    }
    return result;
  }
}

async function setup(t: Tc) {
  const dir = await mkdtemp(path.join(tmpdir(), 'committer-splits-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const local = new LocalCatalog({ warehouse: dir, fileIO: new LocalFileIO() });
  const catalog = new FlakyCatalog(local);
  const options: IcebergSinkOptions<unknown> = { catalog: () => catalog, table: TABLE, schema: SCHEMA, maxCommitAttempts: 1 };
  const contexts: SinkContext[] = [];
  /** A committer of this job's sink step for one checkpoint scope (one instance in group mode, the job itself in standby mode). */
  const committer = async (scope: string): Promise<Committer<DataFile>> => {
    const ctx: SinkContext = { ...testSinkContext(STEP), jobName: JOB, checkpointScope: scope };
    contexts.push(ctx);
    return createIcebergCommitter(options, ctx);
  };
  const location = local.tableLocation(TABLE);
  let nextId = 0;
  /** Real Parquet data files holding `rows` rows. */
  const files = async (rows: number, tag = 'x'): Promise<DataFile[]> => {
    const writer = new DataFileWriter({ schema: SCHEMA, tableLocation: location, fileIO: catalog.fileIO, writeInWorker: false });
    await writer.append(Array.from({ length: rows }, () => ({ id: nextId++, tag })));
    const written = await writer.flush();
    await writer.close();
    return written;
  };
  const metadata = async () => (await local.loadTable(TABLE)).metadata; // the real catalog: never flaky
  /** Snapshots of the current ancestry, oldest first. */
  const snapshots = async (): Promise<Snapshot[]> => {
    const md = await metadata();
    const byId = new Map(md.snapshots.map((s) => [s['snapshot-id'], s]));
    const out: Snapshot[] = [];
    for (let id = md['current-snapshot-id']; id !== undefined; id = byId.get(id)?.['parent-snapshot-id']) out.unshift(byId.get(id)!);
    return out;
  };
  const splitMap = async () => readSplitMap(await metadata(), JOB, STEP);
  return { catalog, committer, files, snapshots, splitMap, contexts };
}

const at = (position: number, scope: string, checkpointId: number): CommittedSplit => ({ position, checkpoint: { scope, checkpointId } });

function request(scope: string, checkpointId: number, committables: readonly DataFile[], positions: Record<string, number>): CommitRequest<DataFile> {
  return { checkpointId, committables, splits: { positions, checkpoint: { scope, checkpointId } } };
}

const added = (s: Snapshot | undefined) => s?.summary['added-records'];
const sorted = (m: ReadonlyMap<string, CommittedSplit>) => new Map([...m].sort(([a], [b]) => a.localeCompare(b)));

test('two instances with disjoint splits commit alternately; each commit carries the other instance\'s entries over', LIMIT, async (t) => {
  const { committer, files, snapshots, splitMap } = await setup(t);
  const a = await committer(SCOPE_A);
  const b = await committer(SCOPE_B);
  assert.equal((await a.claimSplits!([S0, S1])).size, 0, 'a new table holds nothing of the splits');
  assert.equal((await b.claimSplits!([S2])).size, 0);

  await a.commit([request(SCOPE_A, 1, await files(3), { [S0]: 10, [S1]: 20 })]);
  await b.commit([request(SCOPE_B, 1, await files(2), { [S2]: 5 })]);
  assert.deepEqual(sorted(await splitMap()), new Map([[S0, at(10, SCOPE_A, 1)], [S1, at(20, SCOPE_A, 1)], [S2, at(5, SCOPE_B, 1)]]));

  await a.commit([request(SCOPE_A, 2, await files(1), { [S0]: 11, [S1]: 20 })]);
  await b.commit([request(SCOPE_B, 2, await files(4), { [S2]: 9 })]);
  const expected = new Map([[S0, at(11, SCOPE_A, 2)], [S1, at(20, SCOPE_A, 2)], [S2, at(9, SCOPE_B, 2)]]);
  assert.deepEqual(sorted(await splitMap()), expected);

  const history = await snapshots();
  assert.deepEqual(history.map((s) => s.summary[SUMMARY_CHECKPOINT_SCOPE]), [SCOPE_A, SCOPE_B, SCOPE_A, SCOPE_B]);
  assert.deepEqual(history.map(added), ['3', '2', '1', '4']);
  // Every snapshot holds the whole map: A's third commit names B's split as B left it.
  assert.deepEqual(decodeSplitMap(history[2]!.summary[SUMMARY_SPLITS]!).get(S2), at(5, SCOPE_B, 1));
  assert.deepEqual(decodeSplitMap(history[3]!.summary[SUMMARY_SPLITS]!).get(S0), at(11, SCOPE_A, 2));
});

test('B takes over a split A committed and commits first: A\'s next commit of it is fenced', LIMIT, async (t) => {
  const { committer, files, snapshots, splitMap, contexts } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  await a.commit([request(SCOPE_A, 1, await files(2), { [S0]: 10 })]);

  const b = await committer(SCOPE_B);
  assert.deepEqual(await b.claimSplits!([S0]), new Map([[S0, at(10, SCOPE_A, 1)]]), 'the claim reports where the table has the split');
  await b.commit([request(SCOPE_B, 1, await files(1), { [S0]: 15 })]);

  await assert.rejects(a.commit([request(SCOPE_A, 2, await files(3), { [S0]: 20 })]), FencedError);
  assert.equal((await snapshots()).length, 2, 'A published nothing');
  assert.deepEqual(await splitMap(), new Map([[S0, at(15, SCOPE_B, 1)]]));
  const fenced = await contexts[0]!.metrics.fencedCommits.get();
  assert.equal(fenced.values.find((v) => v.labels.kind === 'iceberg')?.value, 1);
});

test('B claims a split, A (not yet aware) commits it first: B\'s commit is fenced', LIMIT, async (t) => {
  const { committer, files, snapshots, splitMap } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  await a.commit([request(SCOPE_A, 1, await files(2), { [S0]: 10 })]);

  const b = await committer(SCOPE_B);
  await b.claimSplits!([S0]);
  await a.commit([request(SCOPE_A, 2, await files(3), { [S0]: 20 })]); // A still thinks it owns S0

  await assert.rejects(b.commit([request(SCOPE_B, 1, await files(1), { [S0]: 15 })]), FencedError, "B's state is from A's checkpoint 1, the table is past it");
  assert.equal((await snapshots()).length, 2);
  assert.deepEqual(await splitMap(), new Map([[S0, at(20, SCOPE_A, 2)]]));
});

test('fencing is per split: B claiming S1 does not fence A\'s commits of S0', LIMIT, async (t) => {
  const { committer, files, splitMap } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  await a.commit([request(SCOPE_A, 1, await files(1), { [S0]: 1 })]);
  const b = await committer(SCOPE_B);
  await b.claimSplits!([S1]);
  await b.commit([request(SCOPE_B, 1, await files(1), { [S1]: 7 })]);
  await a.commit([request(SCOPE_A, 2, await files(1), { [S0]: 2 })]);
  assert.deepEqual(sorted(await splitMap()), new Map([[S0, at(2, SCOPE_A, 2)], [S1, at(7, SCOPE_B, 1)]]));
});

test('a commit that landed unseen is not repeated: same requests again publish nothing, with one more only the new one', LIMIT, async (t) => {
  const { catalog, committer, files, snapshots, splitMap } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0, S1]);
  const r1 = request(SCOPE_A, 1, await files(3), { [S0]: 10, [S1]: 4 });
  catalog.loseResponseOfNextCommit();
  await assert.rejects(a.commit([r1]), CommitConflictError, 'the caller cannot know it landed');
  assert.equal((await snapshots()).length, 1, 'but it did');

  await a.commit([r1]); // retried as pending
  assert.equal((await snapshots()).length, 1, 'recognized as landed: no second snapshot');

  const r2 = request(SCOPE_A, 2, await files(5), { [S0]: 12, [S1]: 4 });
  await a.commit([r1, r2]);
  const history = await snapshots();
  assert.deepEqual(history.map(added), ['3', '5'], 'only the new request was appended');
  assert.equal(history[1]!.summary[SUMMARY_CHECKPOINT_ID], '2');
  assert.deepEqual(sorted(await splitMap()), new Map([[S0, at(12, SCOPE_A, 2)], [S1, at(4, SCOPE_A, 2)]]));
});

test('after an unseen landing, retrying with one more request right away appends only that one', LIMIT, async (t) => {
  const { catalog, committer, files, snapshots } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  const r1 = request(SCOPE_A, 1, await files(2), { [S0]: 10 });
  catalog.loseResponseOfNextCommit();
  await assert.rejects(a.commit([r1]), CommitConflictError);
  await a.commit([r1, request(SCOPE_A, 2, await files(7), { [S0]: 17 })]);
  assert.deepEqual((await snapshots()).map(added), ['2', '7']);
});

test('requests without files publish advanced positions only on a final commit', LIMIT, async (t) => {
  const { committer, files, snapshots, splitMap } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  await a.commit([request(SCOPE_A, 1, await files(1), { [S0]: 10 })]);

  await a.commit([request(SCOPE_A, 2, [], { [S0]: 12 })]);
  assert.equal((await snapshots()).length, 1, 'no empty snapshot per checkpoint');
  await a.commit([request(SCOPE_A, 3, [], { [S0]: 14 })], { final: true });
  const history = await snapshots();
  assert.equal(history.length, 2, 'the final checkpoint publishes the progress');
  assert.equal(added(history[1]), '0');
  assert.deepEqual(await splitMap(), new Map([[S0, at(14, SCOPE_A, 3)]]));
});

test('positions not advanced: nothing is published, even on a final commit', LIMIT, async (t) => {
  const { committer, files, snapshots, splitMap } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  await a.commit([request(SCOPE_A, 1, await files(1), { [S0]: 10 })]);
  await a.commit([request(SCOPE_A, 2, [], { [S0]: 10 })], { final: true });
  assert.equal((await snapshots()).length, 1);
  assert.deepEqual(await splitMap(), new Map([[S0, at(10, SCOPE_A, 1)]]), 'still names checkpoint 1');
});

test('a request without a position for a claimed split is refused: the table could not tell it from the commit before', LIMIT, async (t) => {
  const { committer, files, snapshots } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  await assert.rejects(a.commit([request(SCOPE_A, 1, await files(3), {})], { final: true }), /no source position for claimed split\(s\) events:0/);
  assert.equal((await snapshots()).length, 0, 'nothing published');
});

test('advanced positions without files are published on the 10th checkpoint without a commit', LIMIT, async (t) => {
  const { committer, files, snapshots, splitMap } = await setup(t);
  const a = await committer(SCOPE_A);
  await a.claimSplits!([S0]);
  await a.commit([request(SCOPE_A, 1, await files(1), { [S0]: 100 })]);
  for (let id = 2; id <= 10; id++) {
    await a.commit([request(SCOPE_A, id, [], { [S0]: 100 + id })]);
    assert.equal((await snapshots()).length, 1, `checkpoint ${id}: the ${id - 1}th without a commit publishes nothing`);
  }
  await a.commit([request(SCOPE_A, 11, [], { [S0]: 111 })]);
  assert.equal((await snapshots()).length, 2, 'the 10th publishes');
  assert.deepEqual(await splitMap(), new Map([[S0, at(111, SCOPE_A, 11)]]));
});

test('referencedCheckpoints(scope): the checkpoints of that scope the split map names, after claim and after commit', LIMIT, async (t) => {
  const { committer, files } = await setup(t);
  const a = await committer(SCOPE_A);
  assert.deepEqual(a.referencedCheckpoints!(SCOPE_A), new Set(), 'nothing seen yet');
  await a.claimSplits!([S0, S1]);
  await a.commit([request(SCOPE_A, 1, await files(1), { [S0]: 10, [S1]: 20 })]);
  const b = await committer(SCOPE_B);
  await b.claimSplits!([S2]);
  await b.commit([request(SCOPE_B, 7, await files(1), { [S2]: 3 })]);

  // A new run of instance A claims only S0; the table still names A's checkpoint 1 for S1.
  const a2 = await committer(SCOPE_A);
  await a2.claimSplits!([S0]);
  assert.deepEqual(a2.referencedCheckpoints!(SCOPE_A), new Set([1]));
  assert.deepEqual(a2.referencedCheckpoints!(SCOPE_B), new Set([7]));
  await a2.commit([request(SCOPE_A, 4, await files(1), { [S0]: 11 })]);
  assert.deepEqual(a2.referencedCheckpoints!(SCOPE_A), new Set([1, 4]), 'S0 at 4, S1 still at 1');
  assert.deepEqual(a2.referencedCheckpoints!(SCOPE_B), new Set([7]));
  assert.deepEqual(a2.referencedCheckpoints!('job.i-c'), new Set());
});

test('standby (no claim): a commit with split progress records it and the checkpoint scope', LIMIT, async (t) => {
  const { committer, files, snapshots, splitMap } = await setup(t);
  const standby = await committer(JOB);
  await standby.commit([request(JOB, 3, await files(2), { [S0]: 10, [S1]: 20 })]);
  const [snapshot] = await snapshots();
  assert.equal(snapshot!.summary[SUMMARY_CHECKPOINT_SCOPE], JOB);
  assert.equal(snapshot!.summary[SUMMARY_CHECKPOINT_ID], '3');
  assert.equal(snapshot!.summary['streamline.fencing-token'], '1');
  assert.deepEqual(sorted(await splitMap()), new Map([[S0, at(10, JOB, 3)], [S1, at(20, JOB, 3)]]));
});

test('standby: the idempotency skip counts only commits of its own scope', LIMIT, async (t) => {
  const { committer, files, snapshots } = await setup(t);
  const other = await committer('job.i-x');
  await other.commit([request('job.i-x', 50, await files(1), { [S2]: 1 })]);

  const standby = await committer(JOB);
  const r3 = request(JOB, 3, await files(2), { [S0]: 10 });
  await standby.commit([r3]);
  assert.deepEqual((await snapshots()).map(added), ['1', '2'], 'checkpoint 50 of job.i-x does not cover checkpoint 3 of job');
  await standby.commit([r3]);
  assert.equal((await snapshots()).length, 2, 'checkpoint 3 of its own scope is skipped');
});

test('standby: referencedCheckpoints names the checkpoint its last commit recorded, also while later checkpoints bring no files', LIMIT, async (t) => {
  const { committer, files } = await setup(t);
  const standby = await committer(JOB);
  await standby.commit([request(JOB, 3, await files(2), { [S0]: 10 })]);
  assert.deepEqual(standby.referencedCheckpoints!(JOB), new Set([3]));
  await standby.commit([request(JOB, 4, [], { [S0]: 10 })]);
  assert.deepEqual(standby.referencedCheckpoints!(JOB), new Set([3]), 'retention keeps checkpoint 3: the table still names it');
});
