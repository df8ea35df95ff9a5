/**
 * The mailbox loop's input step with a stage that holds data back (a keyed-state backend behind
 * on its writes): sources are told there is no room — so they poll nothing, while a queued
 * barrier still goes out — and the loop waits for the stage, not only for mail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PipelineCapacity } from '../../../../src/runtime/execution/pipeline-capacity.js';
import { PipelineInput, type InputPressure } from '../../../../src/runtime/execution/pipeline-input.js';
import type { SourceDriver, SourceStep } from '../../../../src/runtime/execution/source-driver.js';
import { INPUT_PROCESSED } from '../../../../src/runtime/execution/task-mailbox.js';

/** Stands in for a SourceDriver's step contract: polls only with room; a queued barrier goes out regardless. */
class ScriptedSource {
  readonly calls: boolean[] = [];
  polled = 0;
  barriers = 0;
  barrierQueued = false;
  step(hasRoom: boolean): SourceStep {
    this.calls.push(hasRoom);
    if (this.barrierQueued) {
      this.barrierQueued = false;
      this.barriers++;
      return INPUT_PROCESSED;
    }
    if (!hasRoom) return 'backpressured';
    this.polled++;
    return INPUT_PROCESSED;
  }
}

class Stage implements InputPressure {
  private release: (() => void) | undefined;
  private held: Promise<void> | undefined;
  hold(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  }
  letGo(): void {
    this.held = undefined;
    this.release?.();
  }
  backpressure(): Promise<void> | undefined {
    return this.held;
  }
}

test('a stage that holds data back stops the sources polling, lets barriers through and wakes the loop when it lets go', async () => {
  const source = new ScriptedSource();
  const stage = new Stage();
  const input = new PipelineInput([source as unknown as SourceDriver], [], new PipelineCapacity(4), [stage]);
  assert.equal(input.processInput(), INPUT_PROCESSED);
  assert.equal(source.polled, 1);

  stage.hold();
  const blocked = input.processInput();
  assert.notEqual(blocked, INPUT_PROCESSED);
  assert.equal(source.polled, 1, 'no poll while held back');
  assert.equal(source.calls.at(-1), false);

  source.barrierQueued = true;
  assert.equal(input.processInput(), INPUT_PROCESSED, 'a barrier still goes out');
  assert.equal(source.barriers, 1);
  assert.equal(source.polled, 1);

  const waiting = input.processInput();
  assert.ok(typeof waiting === 'object' && 'until' in waiting, 'blocked on something');
  let woke = false;
  void waiting.until.then(() => (woke = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(woke, false, 'still held');
  stage.letGo();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(woke, true, 'the loop wakes when the stage lets go');
  assert.equal(input.processInput(), INPUT_PROCESSED);
  assert.equal(source.polled, 2);
});
