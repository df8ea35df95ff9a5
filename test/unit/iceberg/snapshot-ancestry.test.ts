import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTableMetadata, withSnapshot, type Snapshot, type TableMetadata } from '../../../src/iceberg/table-metadata.js';
import { isInAncestry, maxCommittedCheckpoint, maxFencingToken, snapshotAncestry } from '../../../src/iceberg/snapshot-ancestry.js';
import { ORDERS_SCHEMA } from './support/sample-table.js';

function snap(id: number, parent: number | undefined, summary: Record<string, string>): Snapshot {
  return {
    'snapshot-id': BigInt(id),
    ...(parent === undefined ? {} : { 'parent-snapshot-id': BigInt(parent) }),
    'sequence-number': id,
    'timestamp-ms': id,
    'manifest-list': `l${id}`,
    summary: { operation: 'append', ...summary },
  };
}

function table(...snaps: Snapshot[]): TableMetadata {
  return snaps.reduce((md, s) => withSnapshot(md, s, undefined), newTableMetadata({ location: 'x', schema: ORDERS_SCHEMA }));
}

const job = (checkpoint: number, token: number, op = 'sink') => ({
  'streamline.job-id': 'orders',
  'streamline.operator-id': op,
  'streamline.checkpoint-id': String(checkpoint),
  'streamline.fencing-token': String(token),
});

test('max committed checkpoint and fencing token over the ancestry', () => {
  const md = table(
    snap(1, undefined, job(3, 1)),
    snap(2, 1, { 'streamline.job-id': 'other', 'streamline.operator-id': 'sink', 'streamline.checkpoint-id': '99' }),
    snap(3, 2, job(5, 2)),
    snap(4, 3, job(4, 2, 'other-sink')),
    snap(5, 4, {}),
  );
  assert.deepEqual([...snapshotAncestry(md)].map((s) => Number(s['snapshot-id'])), [5, 4, 3, 2, 1]);
  assert.equal(maxCommittedCheckpoint(md, 'orders', 'sink'), 5);
  assert.equal(maxCommittedCheckpoint(md, 'orders', 'other-sink'), 4);
  assert.equal(maxCommittedCheckpoint(md, 'orders', 'nope'), undefined);
  assert.equal(maxFencingToken(md, 'orders'), 2n);
  assert.equal(maxFencingToken(md, 'orders', 'sink'), 2n);
  assert.equal(maxFencingToken(md, 'other'), undefined);
  assert.equal(isInAncestry(md, 3n), true);
});

test('snapshots off the current branch do not count; an expired parent ends the walk', () => {
  // snapshot 3 is in the list but not an ancestor of current (5 → 1)
  const md = table(snap(1, undefined, job(1, 1)), snap(3, 1, job(9, 9)), snap(5, 1, job(2, 1)));
  assert.equal(maxCommittedCheckpoint(md, 'orders', 'sink'), 2);
  assert.equal(isInAncestry(md, 3n), false);
  const expired = { ...md, snapshots: md.snapshots.filter((s) => s['snapshot-id'] !== 1n) };
  assert.deepEqual([...snapshotAncestry(expired)].map((s) => Number(s['snapshot-id'])), [5]);
  assert.equal(maxCommittedCheckpoint(newTableMetadata({ location: 'x', schema: ORDERS_SCHEMA }), 'orders', 'sink'), undefined);
});
