import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DumpedRecord } from '../../chaos/chaos-oracle.js';
import { checkLedger } from '../../chaos/producer-ledger.js';

const rec = (partition: number, offset: number, key: string): DumpedRecord => ({ partition, offset: String(offset), key, headers: {} });

describe('the producer ledger check', () => {
  it('passes a topic holding what was confirmed, in order per partition, retried copies after the originals', () => {
    const topic = [rec(0, 0, 'a'), rec(1, 0, 'b'), rec(0, 1, 'c'), rec(0, 2, 'a'), rec(0, 3, 'c'), rec(1, 1, 'd')];
    const check = checkLedger(['a', 'b', 'c', 'd'], topic);
    assert.deepEqual([check.confirmed, check.lost, check.unconfirmedInTopic, check.reordered], [4, 0, 0, 0]);
  });

  it('counts confirmed keys the topic lacks, keys nobody confirmed, and a key ahead of one confirmed before it', () => {
    const topic = [rec(0, 1, 'a'), rec(0, 0, 'c'), rec(1, 0, 'x')];
    const check = checkLedger(['a', 'b', 'c'], topic);
    assert.equal(check.lost, 1);
    assert.deepEqual(check.samples.lost, ['b']);
    assert.equal(check.unconfirmedInTopic, 1);
    assert.equal(check.reordered, 1, 'a (sent first) sits after c in partition 0');
    assert.deepEqual(check.samples.reordered, ['a']);
  });

  it('orders offsets numerically, not as text', () => {
    const check = checkLedger(['a', 'b'], [rec(0, 10, 'b'), rec(0, 9, 'a')]);
    assert.equal(check.reordered, 0);
  });
});
