import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionValueText } from '../../../src/iceberg/partition-display.js';

test('time transforms read as dates; other values as they are', () => {
  // Expected values from Python's datetime: date(1970, 1, 1) + timedelta(days=20393), and hours=489442.
  assert.equal(partitionValueText(20_393, 'day'), '2025-11-01');
  assert.equal(partitionValueText(489_442, 'hour'), '2025-11-01-10');
  assert.equal(partitionValueText(669, 'month'), '2025-10');
  assert.equal(partitionValueText(-1, 'month'), '1969-12');
  assert.equal(partitionValueText(55, 'year'), '2025');
  assert.equal(partitionValueText('EUR', 'identity'), 'EUR');
  assert.equal(partitionValueText(7, 'bucket[16]'), '7');
  assert.equal(partitionValueText(null, 'day'), 'null');
  assert.equal(partitionValueText(new Uint8Array([0xca, 0xfe]), 'identity'), 'cafe');
});
