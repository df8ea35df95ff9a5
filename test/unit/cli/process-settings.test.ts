/** The process settings that depend on each other: a subtask's heap limit follows the state backend unless set. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcessSettings } from '../../../src/cli/process-settings.js';
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
