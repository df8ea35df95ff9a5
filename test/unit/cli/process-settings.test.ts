/** The process settings: a subtask's heap limit follows the state backend unless set; KEYED_EXCHANGE is checked at start. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcessSettings } from '../../../src/cli/process-settings.js';
import { ConfigError } from '../../../src/errors.js';
import { DISK_STATE_SUBTASK_HEAP_MB } from '../../../src/runtime/parallel/subtask-heap.js';

const job = { checkpoint: { intervalMs: 10_000 } };

test('SUBTASK_HEAP_MB unset or auto: a limit with keyed state on disk (by setting or by the job), none with heap state; a number always wins', () => {
  const heapMb = (settings: Record<string, string>, stateBackend?: 'heap' | 'disk') => parseProcessSettings(settings, { ...job, ...(stateBackend ? { stateBackend } : {}) }).subtaskHeapMb;
  assert.equal(heapMb({}), undefined);
  assert.equal(heapMb({ STATE_BACKEND: 'disk' }), DISK_STATE_SUBTASK_HEAP_MB);
  assert.equal(heapMb({ STATE_BACKEND: 'disk', SUBTASK_HEAP_MB: 'auto' }), DISK_STATE_SUBTASK_HEAP_MB);
  assert.equal(heapMb({}, 'disk'), DISK_STATE_SUBTASK_HEAP_MB);
  assert.equal(heapMb({ STATE_BACKEND: 'heap' }, 'disk'), undefined);
  assert.equal(heapMb({ STATE_BACKEND: 'disk', SUBTASK_HEAP_MB: '1024' }), 1024);
  assert.equal(heapMb({ SUBTASK_HEAP_MB: '256' }), 256);
});

test('KEYED_EXCHANGE: declared by default, always on request, anything else fails naming the setting', () => {
  const exchange = (value?: string) => parseProcessSettings(value === undefined ? {} : { KEYED_EXCHANGE: value }, job).keyedExchange;
  assert.equal(exchange(), 'declared');
  assert.equal(exchange(' Always '), 'always');
  assert.equal(exchange('declared'), 'declared');
  assert.throws(() => exchange('never'), (error: Error) => error instanceof ConfigError && /KEYED_EXCHANGE/.test(error.message) && /'never'/.test(error.message));
});
