import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamlineError } from '../../../../src/errors.js';
import type { CheckpointCoordinator } from '../../../../src/runtime/execution/checkpoint-coordinator.js';
import { RunEnding } from '../../../../src/runtime/execution/run-ending.js';
import { silentLogger } from '../../../../src/runtime/logger.js';

/** The part of a coordinator a run's ending calls, recording the calls; `trigger` answers as told. */
function recordingCoordinator(finalCheckpoint: () => Promise<unknown>) {
  const calls: string[] = [];
  const coordinator = {
    stop: () => void calls.push('stop'),
    trigger: (final: boolean) => {
      calls.push(`trigger(${final})`);
      return finalCheckpoint();
    },
    abortAll: () => void calls.push('abortAll'),
  };
  return { calls, coordinator: coordinator as unknown as CheckpointCoordinator };
}

describe('RunEnding', () => {
  it('defers a stop asked for before the sources run, then takes one final checkpoint', async () => {
    const { calls, coordinator } = recordingCoordinator(async () => ({ checkpointId: 7 }));
    const ending = new RunEnding(silentLogger(), () => coordinator);
    await ending.stop();
    assert.deepEqual(calls, []);
    assert.equal(ending.isStopping, false);
    ending.sourcesRunning();
    assert.equal(ending.isStopping, true);
    assert.equal(ending.stop(), ending.stop(), 'a second stop joins the first');
    await ending.stopped();
    assert.deepEqual(calls, ['stop', 'trigger(true)']);
    assert.equal(ending.failure, undefined);
  });

  it('keeps the first failure: one abort, one rejection, later failures ignored', async () => {
    const { calls, coordinator } = recordingCoordinator(async () => undefined);
    const stopped: Error[] = [];
    const ending = new RunEnding(silentLogger(), () => coordinator, (error) => stopped.push(error));
    const first = new Error('sink broke');
    ending.fail(first);
    ending.fail(new Error('later'));
    assert.equal(ending.failure, first);
    assert.deepEqual(stopped, [first]);
    assert.deepEqual(calls, ['abortAll']);
    await assert.rejects(ending.failed, (error) => error === first);
  });

  it('wraps a thrown non-Error', async () => {
    const ending = new RunEnding(silentLogger(), () => undefined);
    ending.fail('disk full');
    assert.ok(ending.failure instanceof Error);
    assert.equal(ending.failure.message, 'disk full');
    await assert.rejects(ending.failed, /disk full/);
  });

  it('fails the run when the final checkpoint does not complete, unless it failed already', async () => {
    const failing = recordingCoordinator(async () => undefined);
    const ending = new RunEnding(silentLogger(), () => failing.coordinator);
    ending.sourcesRunning();
    await ending.stop();
    assert.ok(ending.failure instanceof StreamlineError);
    assert.match(ending.failure.message, /final checkpoint of the graceful stop failed/);

    let finish!: (value: undefined) => void;
    const slow = recordingCoordinator(() => new Promise((resolve) => (finish = resolve)));
    const failedFirst = new RunEnding(silentLogger(), () => slow.coordinator);
    failedFirst.sourcesRunning();
    const stopping = failedFirst.stop();
    const cause = new Error('fenced');
    failedFirst.fail(cause);
    finish(undefined);
    await stopping;
    assert.equal(failedFirst.failure, cause);
  });

  it('a stop before the run has a coordinator ends without a checkpoint', async () => {
    const ending = new RunEnding(silentLogger(), () => undefined);
    ending.sourcesRunning();
    await ending.stop();
    assert.equal(ending.failure, undefined);
    assert.equal(ending.isStopping, true);
  });
});
