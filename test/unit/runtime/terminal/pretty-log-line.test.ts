import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLogFormat } from '../../../../src/runtime/terminal/log-format.js';
import { formatLogLine } from '../../../../src/runtime/terminal/pretty-log-line.js';
import { ConfigError } from '../../../../src/errors.js';

const at = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();

test('a log object as a line for people: time, level, where, message, then the other fields', () => {
  const line = formatLogLine({ level: 30, time: at, pid: 1, name: 'streamline', job: 'orders', msg: 'checkpoint complete', checkpoint: 3, ms: 120, splits: [8, 8], path: '/tmp/a b' }, false);
  assert.equal(line, '03:04:05.067 INFO  orders  checkpoint complete  checkpoint=3 ms=120 splits=[8,8] path="/tmp/a b"\n');
  const subtask = formatLogLine({ level: 40, time: at, job: 'orders', subtask: 1, msg: 'slow' }, false);
  assert.equal(subtask, '03:04:05.067 WARN  orders subtask 1  slow\n');
});

test('errors: the message once, the stack below error lines', () => {
  const err = { type: 'CheckpointError', message: 'Checkpoint 4: timed out', stack: 'CheckpointError: Checkpoint 4: timed out\n    at a (x.js:1:1)\n    at b (y.js:2:2)' };
  const warn = formatLogLine({ level: 40, time: at, msg: 'checkpoint failed', err }, false);
  assert.equal(warn, '03:04:05.067 WARN  checkpoint failed  CheckpointError: Checkpoint 4: timed out\n');
  const error = formatLogLine({ level: 50, time: at, msg: 'job failed: Checkpoint 4: timed out', err }, false);
  assert.equal(error, '03:04:05.067 ERROR job failed: Checkpoint 4: timed out\n    at a (x.js:1:1)\n    at b (y.js:2:2)\n');
});

test('colours only when asked', () => {
  const plain = formatLogLine({ level: 30, time: at, msg: 'hi', n: 1 }, false);
  const coloured = formatLogLine({ level: 30, time: at, msg: 'hi', n: 1 }, true);
  assert.doesNotMatch(plain, /\x1b\[/);
  assert.match(coloured, /\x1b\[32mINFO/);
  assert.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ''), plain);
});

test('LOG_FORMAT: json, pretty or unset; anything else names the setting', () => {
  assert.equal(parseLogFormat(undefined), undefined);
  assert.equal(parseLogFormat(''), undefined);
  assert.equal(parseLogFormat('JSON'), 'json');
  assert.equal(parseLogFormat('pretty'), 'pretty');
  assert.throws(() => parseLogFormat('xml'), (e: unknown) => e instanceof ConfigError && /LOG_FORMAT \(--log-format\)/.test(e.message));
});
