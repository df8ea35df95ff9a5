/**
 * The chain of split maps a group-mode committer publishes: base, then one point per request.
 * Matching the table against it tells which requests already landed (idempotent re-commit) and
 * which splits another instance moved (fencing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataFile } from '../../../../../src/iceberg/data-file.js';
import type { CommitRequest, CommittedSplit } from '../../../../../src/runtime/sink.js';
import { splitChain } from '../../../../../src/operators/sinks/iceberg/split-chain.js';
import type { SplitMap } from '../../../../../src/operators/sinks/iceberg/split-progress-summary.js';

const S0 = 't:0';
const S1 = 't:1';
const SCOPE = 'job.i-a';
const at = (position: number, checkpointId: number, scope = SCOPE): CommittedSplit => ({ position, checkpoint: { scope, checkpointId } });

/** A chain point as a table would hold it: absent entries are simply not there. */
const asTable = (point: ReadonlyMap<string, CommittedSplit | undefined>): SplitMap =>
  new Map([...point].filter((e): e is [string, CommittedSplit] => e[1] !== undefined));

function request(checkpointId: number, positions: Record<string, number> | undefined): CommitRequest<DataFile> {
  return {
    checkpointId,
    committables: [],
    ...(positions ? { splits: { positions, checkpoint: { scope: SCOPE, checkpointId } } } : {}),
  };
}

const base = new Map<string, CommittedSplit | undefined>([
  [S0, at(100, 1, 'job.i-old')],
  [S1, at(50, 1, 'job.i-old')],
]);
const requests = [request(2, { [S0]: 110, [S1]: 55 }), request(3, { [S0]: 120, [S1]: 60 }), request(4, { [S0]: 130, [S1]: 70 })];

test('point(0) is the base; point(i) has the positions and checkpoint of request i', () => {
  const chain = splitChain(base, requests);
  assert.deepEqual(chain.point(0), base);
  assert.deepEqual(chain.point(1), new Map([[S0, at(110, 2)], [S1, at(55, 2)]]));
  assert.deepEqual(chain.point(2), new Map([[S0, at(120, 3)], [S1, at(60, 3)]]));
  assert.deepEqual(chain.point(3), new Map([[S0, at(130, 4)], [S1, at(70, 4)]]));
});

test('the base map is copied: changing it later does not move the chain', () => {
  const mutable = new Map(base);
  const chain = splitChain(mutable, requests);
  mutable.set(S0, at(0, 0));
  assert.deepEqual(chain.point(0).get(S0), at(100, 1, 'job.i-old'));
});

test('match: the index of the point the table is at', () => {
  const chain = splitChain(base, requests);
  for (let i = 0; i <= requests.length; i++) {
    assert.deepEqual(chain.match(asTable(chain.point(i))), { kind: 'at', index: i });
  }
});

test('match returns the highest matching index when several points are equal', () => {
  // Requests without split progress leave the point unchanged: points 1, 2 and 3 are equal.
  const chain = splitChain(base, [request(2, { [S0]: 110, [S1]: 55 }), request(3, undefined), request(4, undefined)]);
  assert.deepEqual(chain.point(3), chain.point(1));
  assert.deepEqual(chain.match(asTable(chain.point(1))), { kind: 'at', index: 3 });
});

test('splits the table has but the chain does not own are ignored by match', () => {
  const chain = splitChain(base, requests);
  const table = new Map([...asTable(chain.point(2)), ['t:9', at(999, 7, 'job.i-other')]]);
  assert.deepEqual(chain.match(table), { kind: 'at', index: 2 });
});

test('a table where one owned split has another checkpoint or position is "moved" with exactly that split', () => {
  const chain = splitChain(base, requests);
  const otherCheckpoint = new Map([[S0, at(120, 3)], [S1, at(60, 3, 'job.i-b')]]);
  assert.deepEqual(chain.match(otherCheckpoint), { kind: 'moved', splits: [S1] });
  const otherPosition = new Map([[S0, at(121, 3)], [S1, at(60, 3)]]);
  assert.deepEqual(chain.match(otherPosition), { kind: 'moved', splits: [S0] });
  const dropped = new Map([[S0, at(120, 3)]]);
  assert.deepEqual(chain.match(dropped), { kind: 'moved', splits: [S1] }, 'an owned split gone from the table moved too');
});

test('owned splits each on some point but not on the same one: moved, naming all owned splits', () => {
  const chain = splitChain(base, requests);
  const torn = new Map([[S0, at(130, 4)], [S1, at(55, 2)]]);
  assert.deepEqual(chain.match(torn), { kind: 'moved', splits: [S0, S1] });
});

test('a request whose progress lacks a split keeps that split\'s position but takes the new checkpoint', () => {
  const chain = splitChain(base, [request(2, { [S0]: 110 }), request(3, { [S1]: 58 })]);
  // S1 unread in request 2: the position stays 50, the state is in checkpoint 2 now.
  assert.deepEqual(chain.point(1), new Map([[S0, at(110, 2)], [S1, at(50, 2)]]));
  assert.deepEqual(chain.point(2), new Map([[S0, at(110, 3)], [S1, at(58, 3)]]));
});

test('positions of splits the chain does not own are not added to its points', () => {
  const chain = splitChain(new Map([[S0, at(1, 1)]]), [request(2, { [S0]: 2, [S1]: 9 })]);
  assert.deepEqual([...chain.point(1).keys()], [S0]);
});

test('an absent base entry stays absent until a request reports the split, and matches only an absent table entry', () => {
  const fresh = new Map<string, CommittedSplit | undefined>([[S0, at(100, 1)], [S1, undefined]]);
  const chain = splitChain(fresh, [request(2, { [S0]: 110 }), request(3, { [S0]: 120, [S1]: 4 })]);
  assert.equal(chain.point(1).get(S1), undefined, 'no position ever: nothing to record');
  assert.deepEqual(chain.point(2).get(S1), at(4, 3));
  assert.deepEqual(chain.match(new Map([[S0, at(110, 2)]])), { kind: 'at', index: 1 });
  // The table has S1 though the base had it absent: someone else published it.
  assert.deepEqual(chain.match(new Map([[S0, at(110, 2)], [S1, at(0, 1, 'job.i-b')]])), { kind: 'moved', splits: [S1] });
  assert.deepEqual(chain.match(new Map([[S0, at(100, 1)], [S1, at(0, 1)]])), { kind: 'moved', splits: [S1] });
});

test('no requests: the chain is the base alone', () => {
  const chain = splitChain(base, []);
  assert.deepEqual(chain.match(asTable(base)), { kind: 'at', index: 0 });
  assert.deepEqual(chain.match(new Map()), { kind: 'moved', splits: [S0, S1] });
});
