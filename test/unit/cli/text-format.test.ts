import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatCount, formatDuration, formatTime } from '../../../src/cli/inspect/text-format.js';

test('counts, sizes, durations and times as inspect prints them', () => {
  assert.equal(formatCount(97_000), '97,000');
  assert.equal(formatBytes(812), '812 B');
  assert.equal(formatBytes(65_638), '64.1 KiB');
  assert.equal(formatBytes(19_084_083), '18.2 MiB');
  assert.equal(formatDuration(0), '0 s');
  assert.equal(formatDuration(45_200), '45 s');
  assert.equal(formatDuration(125_000), '2 min 5 s');
  assert.equal(formatDuration(3 * 3_600_000 + 120_000 + 7_000), '3 h 2 min');
  assert.equal(formatDuration(2 * 86_400_000 + 30_000), '2 d', 'zero minor units are left out');
  assert.equal(formatTime(Date.UTC(2026, 10, 1, 10), Date.UTC(2026, 10, 1, 10, 2, 5)), '2026-11-01T10:00:00Z (2 min 5 s ago)');
  assert.equal(formatTime(Date.UTC(2026, 10, 1, 10, 0, 12), Date.UTC(2026, 10, 1, 10)), '2026-11-01T10:00:12Z (in 12 s)');
});
