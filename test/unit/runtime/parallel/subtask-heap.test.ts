/**
 * SUBTASK_HEAP_MB: the setting is validated, the limits add up to it, and a subtask thread whose
 * live data outgrows it fails with an error that names the setting (a real worker thread).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../../src/errors.js';
import { fromWireError, SubtaskError, SubtaskHandle } from '../../../../src/runtime/parallel/subtask-handle.js';
import { defaultSubtaskHeapMb, DISK_STATE_SUBTASK_HEAP_MB, parseSubtaskHeapMb, subtaskResourceLimits } from '../../../../src/runtime/parallel/subtask-heap.js';
import type { FromSubtask, SubtaskStart } from '../../../../src/runtime/parallel/subtask-protocol.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';

test('SUBTASK_HEAP_MB: auto or unset leaves the default; a number of MiB from 64 up; anything else is refused naming the setting', () => {
  assert.equal(parseSubtaskHeapMb(undefined), undefined);
  assert.equal(parseSubtaskHeapMb(''), undefined);
  assert.equal(parseSubtaskHeapMb('auto'), undefined);
  assert.equal(parseSubtaskHeapMb(' 256 '), 256);
  for (const bad of ['32', '1.5', 'lots', '-1']) {
    assert.throws(
      () => parseSubtaskHeapMb(bad),
      (e: unknown) => e instanceof ConfigError && e.setting.startsWith('SUBTASK_HEAP_MB') && e.message.includes(`'${bad}'`),
    );
  }
});

test('unset or auto, a subtask with keyed state on disk gets a limit; one with heap state, whose size only the job knows, V8\'s own', () => {
  assert.equal(defaultSubtaskHeapMb('disk'), DISK_STATE_SUBTASK_HEAP_MB);
  assert.ok(DISK_STATE_SUBTASK_HEAP_MB >= 128 && DISK_STATE_SUBTASK_HEAP_MB <= 512);
  assert.equal(defaultSubtaskHeapMb('heap'), undefined);
});

test('the young and old generation limits add up to the heap, the young one an eighth of it within 8–32 MiB', () => {
  for (const [heap, young] of [
    [64, 8],
    [256, 32],
    [200, 25],
    [4096, 32],
  ] as const) {
    const limits = subtaskResourceLimits(heap);
    assert.equal(limits.maxYoungGenerationSizeMb, young);
    assert.equal((limits.maxYoungGenerationSizeMb ?? 0) + (limits.maxOldGenerationSizeMb ?? 0), heap);
  }
});

test('a subtask that outgrows SUBTASK_HEAP_MB fails with an error naming the setting, and the process lives on', { timeout: 60_000 }, async () => {
  assert.ok(SubtaskHandle.isAvailable(), 'the compiled subtask worker is needed (run from build/)');
  let failure: Error | undefined;
  let reported!: () => void;
  const failed = new Promise<void>((resolve) => (reported = resolve));
  const handle = new SubtaskHandle(
    0,
    (index, message: FromSubtask) => {
      if (message.type !== 'failed') return;
      // The first report counts, as in the runner (the thread's exit follows its error).
      failure ??= fromWireError(index, message.error);
      reported();
    },
    systemClock,
    64,
  );
  try {
    handle.send({ type: 'start', jobUrl: new URL('./support/heap-hog-job.js', import.meta.url).href, settings: {}, logLevel: 'silent' } as unknown as SubtaskStart);
    await failed;
  } finally {
    await handle.terminate();
  }
  assert.ok(failure !== undefined);
  assert.match(failure.message, /^subtask 0: ran out of heap memory: its V8 heap is limited to 64 MiB by SUBTASK_HEAP_MB/);
  assert.ok(failure instanceof SubtaskError && !failure.retriable);
});
