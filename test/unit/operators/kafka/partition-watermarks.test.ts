import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PartitionWatermarks } from '../../../../src/operators/kafka/partition-watermarks.js';

describe('PartitionWatermarks', () => {
  const options = { maxOutOfOrdernessMs: 100, idleTimeoutMs: 1_000 };

  it('is the max event time minus the bound, minimum across partitions', () => {
    const wm = new PartitionWatermarks(options);
    wm.assign('t:0', 0);
    wm.assign('t:1', 0);
    wm.observe('t:0', 5_000, 10, 5);
    assert.equal(wm.current(10), undefined, 'partition 1 has delivered nothing yet');
    wm.observe('t:1', 3_000, 20, 5);
    assert.equal(wm.current(20), 3_000 - 100 - 1);
    wm.observe('t:1', 9_000, 30, 5);
    assert.equal(wm.current(30), 5_000 - 100 - 1);
  });

  it('never goes backwards', () => {
    const wm = new PartitionWatermarks(options);
    wm.observe('t:0', 5_000, 0, 1);
    assert.equal(wm.current(0), 4_899);
    wm.observe('t:0', 1_000, 1, 1);
    assert.equal(wm.current(1), 4_899);
    wm.observe('t:1', 2_000, 2, 1);
    assert.equal(wm.current(2), 4_899);
  });

  it('excludes a caught-up partition after the idle timeout', () => {
    const wm = new PartitionWatermarks(options);
    wm.observe('t:0', 1_000, 0, 0);
    wm.observe('t:1', 9_000, 0, 0);
    assert.equal(wm.current(500), 899);
    wm.observe('t:1', 10_000, 1_500, 0);
    assert.equal(wm.current(1_500), 9_899, 'partition 0 idle since 0');
    wm.observe('t:0', 2_000, 1_600, 0);
    assert.equal(wm.current(1_600), 9_899, 'an idle partition that wakes up does not pull the watermark back');
  });

  it('never counts a lagging (e.g. paused) partition as idle', () => {
    const wm = new PartitionWatermarks(options);
    wm.observe('t:0', 1_000, 0, 500);
    wm.observe('t:1', 9_000, 0, 0);
    assert.equal(wm.current(60_000), 899);
    wm.updateLag('t:0', 0);
    assert.equal(wm.current(60_000), 899, 'both idle now: hold');
    wm.observe('t:1', 20_000, 60_000, 0);
    assert.equal(wm.current(60_000), 19_899);
  });

  it('lets an assigned partition without data hold back until it is idle', () => {
    const wm = new PartitionWatermarks(options);
    wm.assign('t:0', 0, 0);
    wm.observe('t:1', 5_000, 0, 0);
    assert.equal(wm.current(999), undefined);
    wm.observe('t:1', 5_000, 1_000, 0);
    assert.equal(wm.current(1_000), 4_899);
  });

  it('drops revoked partitions', () => {
    const wm = new PartitionWatermarks(options);
    wm.observe('t:0', 1_000, 0, 3);
    wm.observe('t:1', 8_000, 0, 3);
    wm.remove('t:0');
    assert.equal(wm.current(1), 7_899);
  });

  it('validates its options', () => {
    assert.throws(() => new PartitionWatermarks({ maxOutOfOrdernessMs: -1, idleTimeoutMs: 1 }), RangeError);
    assert.throws(() => new PartitionWatermarks({ maxOutOfOrdernessMs: 0, idleTimeoutMs: 0 }), RangeError);
  });
});
