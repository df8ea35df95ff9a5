/**
 * The `streamline.splits` snapshot-summary codec: what an instance taking a split over reads to
 * continue it exactly once, so a malformed value must be refused loudly, never half-read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptCheckpointError } from '../../../../../src/errors.js';
import type { CommittedSplit } from '../../../../../src/runtime/sink.js';
import { SplitSummaryError, decodeSplitMap, encodeSplitMap, sameProgress, type SplitMap } from '../../../../../src/operators/sinks/iceberg/split-progress-summary.js';

const at = (position: number, scope: string, checkpointId: number): CommittedSplit => ({ position, checkpoint: { scope, checkpointId } });

test('encode: splits sorted, each checkpoint written once and referenced by index', () => {
  const map: SplitMap = new Map([
    ['orders:2', at(7, 'orders.i-b', 3)],
    ['orders:0', at(1042, 'orders.i-a', 17)],
    ['orders:1', at(0, 'orders.i-a', 17)],
  ]);
  const raw = encodeSplitMap(map);
  assert.equal(raw, '{"v":1,"checkpoints":["orders.i-a/17","orders.i-b/3"],"splits":{"orders:0":[1042,0],"orders:1":[0,0],"orders:2":[7,1]}}');
});

test('decode(encode(map)) gives the map back', () => {
  const map: SplitMap = new Map([
    ['t:0', at(5, 'job', 1)],
    ['t:1', at(9, 'job.i-x/with/slashes', 123456789012345)],
    ['u:10', at(Number.MAX_SAFE_INTEGER, 'job', 1)],
  ]);
  const back = decodeSplitMap(encodeSplitMap(map));
  assert.deepEqual(new Map([...back].sort()), new Map([...map].sort()));
});

test('an empty map round-trips', () => {
  assert.equal(encodeSplitMap(new Map()), '{"v":1,"checkpoints":[],"splits":{}}');
  assert.equal(decodeSplitMap(encodeSplitMap(new Map())).size, 0);
});

const malformed: [string, string][] = [
  ['not JSON', '{"v":1,'],
  ['JSON null', 'null'],
  ['wrong version', '{"v":2,"checkpoints":[],"splits":{}}'],
  ['no version', '{"checkpoints":[],"splits":{}}'],
  ['checkpoints not a list', '{"v":1,"checkpoints":{},"splits":{}}'],
  ['splits missing', '{"v":1,"checkpoints":[]}'],
  ['entry not a pair', '{"v":1,"checkpoints":["job/1"],"splits":{"t:0":5}}'],
  ['entry position not a number', '{"v":1,"checkpoints":["job/1"],"splits":{"t:0":["5",0]}}'],
  ['entry position fractional', '{"v":1,"checkpoints":["job/1"],"splits":{"t:0":[1.5,0]}}'],
  ['negative position', '{"v":1,"checkpoints":["job/1"],"splits":{"t:0":[-1,0]}}'],
  ['checkpoint index out of range', '{"v":1,"checkpoints":["job/1"],"splits":{"t:0":[5,1]}}'],
  ['checkpoint index missing', '{"v":1,"checkpoints":["job/1"],"splits":{"t:0":[5]}}'],
  ['ref without id', '{"v":1,"checkpoints":["job"],"splits":{}}'],
  ['ref with non-numeric id', '{"v":1,"checkpoints":["job/x1"],"splits":{}}'],
  ['ref with empty scope', '{"v":1,"checkpoints":["/1"],"splits":{}}'],
  ['ref not a string', '{"v":1,"checkpoints":[17],"splits":{}}'],
];

for (const [what, raw] of malformed) {
  test(`malformed (${what}): SplitSummaryError naming streamline.splits`, () => {
    assert.throws(
      () => decodeSplitMap(raw),
      (error: unknown) => {
        assert.ok(error instanceof SplitSummaryError, `got ${String(error)}`);
        assert.ok(error instanceof CorruptCheckpointError, 'a corrupt-checkpoint error: the run must not continue from it');
        assert.match(error.message, /streamline\.splits/);
        return true;
      },
    );
  });
}

test('the malformed entry is named in the message', () => {
  assert.throws(() => decodeSplitMap('{"v":1,"checkpoints":["job/1"],"splits":{"orders:3":[-1,0]}}'), /split 'orders:3'.*\[-1,0\]/);
});

test('sameProgress: equal only with the same position, scope and checkpoint id; absent equals only absent', () => {
  const base = at(10, 'job.i-a', 3);
  assert.equal(sameProgress(base, at(10, 'job.i-a', 3)), true, 'structurally equal, different objects');
  assert.equal(sameProgress(base, at(11, 'job.i-a', 3)), false, 'position differs');
  assert.equal(sameProgress(base, at(10, 'job.i-b', 3)), false, 'scope differs');
  assert.equal(sameProgress(base, at(10, 'job.i-a', 4)), false, 'checkpoint id differs');
  assert.equal(sameProgress(undefined, undefined), true);
  assert.equal(sameProgress(base, undefined), false);
  assert.equal(sameProgress(undefined, base), false);
});
