/**
 * Properties every CheckpointStore must have, run against the local store (unit) and the S3
 * store (integration, moto). `raw` lets a test damage stored objects the way a crash or a bad
 * disk would, bypassing the store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CheckpointMetadata, CheckpointStore, StateHandle } from '../../../../src/runtime/checkpoint-store.js';
import { CheckpointError, CorruptCheckpointError } from '../../../../src/errors.js';

/** Direct access to a store's objects, for damage simulation. */
export interface RawObjects {
  put(jobName: string, checkpointId: number, name: string, bytes: Uint8Array): Promise<void>;
  remove(jobName: string, checkpointId: number, name: string): Promise<void>;
  /** Names of every object of the job, relative to the job folder (`chk-3/_metadata`), sorted. */
  list(jobName: string): Promise<string[]>;
}

export interface ContractTarget {
  /** A fresh store plus raw access to the same objects; `jobName` is unique per call. */
  create(): Promise<{ store: CheckpointStore; raw: RawObjects; jobName: string }>;
}

const encoder = new TextEncoder();

/** Writes `states` and `_metadata` for one checkpoint; returns the metadata. */
export async function writeCheckpoint(
  store: CheckpointStore,
  jobName: string,
  checkpointId: number,
  states: Record<string, string> = { 'orders.source': `offsets-${checkpointId}`, 'orders.dedup': `seen-${checkpointId}` },
): Promise<CheckpointMetadata> {
  const operators: Record<string, StateHandle> = {};
  for (const [stepId, text] of Object.entries(states)) {
    operators[stepId] = await store.writeState(jobName, checkpointId, `${stepId}.state`, encoder.encode(text));
  }
  const metadata: CheckpointMetadata = {
    formatVersion: 1,
    jobName,
    checkpointId,
    triggeredAt: 1_700_000_000_000 + checkpointId,
    completedAt: 1_700_000_000_100 + checkpointId,
    operators,
    fencingToken: '7',
  };
  await store.commitMetadata(metadata);
  return metadata;
}

function collectSkips(): { skips: { id: number; reason: string }[]; onSkip: (id: number, reason: string) => void } {
  const skips: { id: number; reason: string }[] = [];
  return { skips, onSkip: (id, reason) => skips.push({ id, reason }) };
}

/** Registers the contract tests for one store implementation. */
export function checkpointStoreContract(label: string, target: ContractTarget): void {
  test(`${label}: a committed checkpoint lists and its state reads back verified`, async () => {
    const { store, jobName } = await target.create();
    const metadata = await writeCheckpoint(store, jobName, 1);
    const [completed, ...rest] = await store.listCompleted(jobName);
    assert.equal(rest.length, 0);
    assert.deepEqual(completed?.metadata, metadata);
    assert.match(completed!.location, /chk-1$/);
    const handle = metadata.operators['orders.dedup']!;
    assert.equal(new TextDecoder().decode(await store.readState(jobName, 1, handle)), 'seen-1');
    assert.deepEqual((await store.load(jobName, 1)).metadata, metadata);
  });

  test(`${label}: listCompleted is newest first, numerically`, async () => {
    const { store, jobName } = await target.create();
    for (const id of [2, 10, 9, 1]) await writeCheckpoint(store, jobName, id);
    const ids = (await store.listCompleted(jobName)).map((c) => c.metadata.checkpointId);
    assert.deepEqual(ids, [10, 9, 2, 1]);
  });

  test(`${label}: a checkpoint whose _metadata was never written (crash) is skipped with a warning`, async () => {
    const { store, jobName } = await target.create();
    await writeCheckpoint(store, jobName, 1);
    await store.writeState(jobName, 2, 'orders.source.state', encoder.encode('partial'));
    const { skips, onSkip } = collectSkips();
    const ids = (await store.listCompleted(jobName, onSkip)).map((c) => c.metadata.checkpointId);
    assert.deepEqual(ids, [1]);
    assert.equal(skips.length, 1);
    assert.equal(skips[0]!.id, 2);
    assert.match(skips[0]!.reason, /checkpoint 2 .*incomplete.*_metadata/);
    await assert.rejects(store.load(jobName, 2), CorruptCheckpointError);
  });

  test(`${label}: truncated or tampered _metadata is skipped with a reason naming it`, async () => {
    const { store, raw, jobName } = await target.create();
    await writeCheckpoint(store, jobName, 1);
    await writeCheckpoint(store, jobName, 2);
    await writeCheckpoint(store, jobName, 3);
    await raw.put(jobName, 3, '_metadata', encoder.encode('{"formatVersion":1,"jobNa'));
    const original = await store.load(jobName, 2);
    const tampered = JSON.parse(JSON.stringify({ ...original.metadata, completedAt: 1 }));
    await raw.put(jobName, 2, '_metadata', encoder.encode(JSON.stringify({ ...tampered, metadataSha256: 'f'.repeat(64) })));
    const { skips, onSkip } = collectSkips();
    const ids = (await store.listCompleted(jobName, onSkip)).map((c) => c.metadata.checkpointId);
    assert.deepEqual(ids, [1]);
    assert.deepEqual(skips.map((s) => s.id), [3, 2]);
    assert.match(skips[0]!.reason, /checkpoint 3 of job .*not valid JSON/);
    assert.match(skips[1]!.reason, /checkpoint 2 of job .*checksum mismatch/);
  });

  test(`${label}: a state object that changed is refused on read; a missing one makes the checkpoint skipped`, async () => {
    const { store, raw, jobName } = await target.create();
    const metadata = await writeCheckpoint(store, jobName, 4);
    const handle = metadata.operators['orders.dedup']!;
    await raw.put(jobName, 4, handle.name, encoder.encode('SEEN-4')); // same length, different bytes
    await assert.rejects(store.readState(jobName, 4, handle), (err: unknown) => {
      assert.ok(err instanceof CorruptCheckpointError);
      assert.match(err.message, /checkpoint 4 .*orders\.dedup\.state.*checksum mismatch/);
      return true;
    });
    await raw.remove(jobName, 4, metadata.operators['orders.source']!.name);
    const { skips, onSkip } = collectSkips();
    assert.deepEqual(await store.listCompleted(jobName, onSkip), []);
    assert.match(skips[0]!.reason, /orders\.source\.state.*missing/);
  });

  test(`${label}: prune keeps exactly the newest N completed and removes stale partial ones`, async () => {
    const { store, raw, jobName } = await target.create();
    for (let id = 1; id <= 7; id++) await writeCheckpoint(store, jobName, id);
    await store.writeState(jobName, 0, 'orders.source.state', encoder.encode('abandoned')); // older partial
    await store.writeState(jobName, 8, 'orders.source.state', encoder.encode('in progress')); // newer partial
    await store.prune(jobName, 3);
    const ids = (await store.listCompleted(jobName)).map((c) => c.metadata.checkpointId);
    assert.deepEqual(ids, [7, 6, 5]);
    const folders = [...new Set((await raw.list(jobName)).map((key) => key.split('/')[0]))].sort();
    assert.deepEqual(folders, ['chk-5', 'chk-6', 'chk-7', 'chk-8']);
    await store.prune(jobName, 3); // idempotent
    assert.equal((await store.listCompleted(jobName)).length, 3);
    await assert.rejects(store.prune(jobName, 0));
  });

  test(`${label}: discard removes every object of a checkpoint`, async () => {
    const { store, raw, jobName } = await target.create();
    await writeCheckpoint(store, jobName, 1);
    await writeCheckpoint(store, jobName, 2);
    await store.discard(jobName, 2);
    assert.ok((await raw.list(jobName)).every((key) => key.startsWith('chk-1/')));
    await store.discard(jobName, 2); // nothing left: no error
  });

  test(`${label}: a second writer cannot overwrite an object; an identical retry is accepted`, async () => {
    const { store, jobName } = await target.create();
    const first = await store.writeState(jobName, 5, 'orders.dedup.state', encoder.encode('writer A'));
    const retry = await store.writeState(jobName, 5, 'orders.dedup.state', encoder.encode('writer A'));
    assert.deepEqual(retry, first);
    await assert.rejects(store.writeState(jobName, 5, 'orders.dedup.state', encoder.encode('writer B')), CheckpointError);
    assert.equal(new TextDecoder().decode(await store.readState(jobName, 5, first)), 'writer A');
    const metadata: CheckpointMetadata = {
      formatVersion: 1, jobName, checkpointId: 5, triggeredAt: 1, completedAt: 2,
      operators: { 'orders.dedup': first }, fencingToken: '1',
    };
    await store.commitMetadata(metadata);
    await store.commitMetadata(metadata); // retry after an ambiguous failure
    await assert.rejects(store.commitMetadata({ ...metadata, fencingToken: '2' }), CheckpointError);
    assert.equal((await store.load(jobName, 5)).metadata.fencingToken, '1');
  });

  test(`${label}: metadata naming a state object that was never written is refused`, async () => {
    const { store, jobName } = await target.create();
    const metadata: CheckpointMetadata = {
      formatVersion: 1, jobName, checkpointId: 1, triggeredAt: 1, completedAt: 2,
      operators: { ghost: { name: 'ghost.state', bytes: 3, sha256: 'a'.repeat(64) } }, fencingToken: '1',
    };
    await assert.rejects(store.commitMetadata(metadata), CheckpointError);
    assert.deepEqual(await store.listCompleted(jobName), []);
  });

  test(`${label}: unsafe names are refused`, async () => {
    const { store, jobName } = await target.create();
    await assert.rejects(store.writeState(jobName, 1, '../escape', encoder.encode('x')));
    await assert.rejects(store.writeState(jobName, 1, '_metadata', encoder.encode('x')));
    await assert.rejects(store.writeState('../other', 1, 'a.state', encoder.encode('x')));
    await assert.rejects(store.writeState(jobName, -1, 'a.state', encoder.encode('x')));
  });

  test(`${label}: listScopes finds the scopes of a name prefix with their last activity; discardScope deletes one whole`, async () => {
    const { store, jobName } = await target.create();
    const before = Date.now() - 5_000;
    const a = `${jobName}.i-0000000a`;
    const b = `${jobName}.i-0000000b`;
    await writeCheckpoint(store, jobName, 1);
    await writeCheckpoint(store, a, 1);
    await writeCheckpoint(store, a, 2);
    await writeCheckpoint(store, b, 4);
    await store.writeSharedState(b, '4-keyed', (async function* () {
      yield encoder.encode('shared');
    })());
    await writeCheckpoint(store, `${jobName}x`, 1); // another job, outside the prefix
    const scopes = await store.listScopes(`${jobName}.`);
    assert.deepEqual(scopes.map((s) => s.scope), [a, b]);
    for (const s of scopes) assert.ok(s.lastModifiedMs >= before && s.lastModifiedMs <= Date.now() + 5_000, `${s.scope}: ${s.lastModifiedMs}`);
    await store.discardScope(b);
    assert.deepEqual((await store.listScopes(`${jobName}.`)).map((s) => s.scope), [a]);
    assert.deepEqual(await store.listCompleted(b), []);
    assert.equal(await store.highestCheckpointId(b), undefined);
    assert.deepEqual((await store.listCompleted(a)).map((c) => c.metadata.checkpointId), [2, 1], 'other scopes are untouched');
    assert.deepEqual((await store.listCompleted(jobName)).map((c) => c.metadata.checkpointId), [1]);
    await store.discardScope(b); // already gone: no error
    await assert.rejects(store.discardScope('../escape'));
  });

  test(`${label}: an empty job has no checkpoints`, async () => {
    const { store, jobName } = await target.create();
    assert.deepEqual(await store.listCompleted(jobName), []);
    await store.prune(jobName, 2);
    await assert.rejects(store.load(jobName, 1), CorruptCheckpointError);
  });
}
