import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../../../../src/errors.js';
import { withDeadline } from '../../../../src/operators/kafka/kafka-call-deadline.js';
import { ManualClock } from '../../../../src/runtime/time/manual-clock.js';

describe('withDeadline (every Kafka call of the @platformatic/kafka adapter)', () => {
  it('a call that never answers fails with a retriable TimeoutError naming it, once the deadline passed', async () => {
    const clock = new ManualClock();
    const outcome: { error?: unknown } = {};
    const pending = withDeadline(new Promise<never>(() => undefined), 5_000, "committing offsets of group 'g'", clock).catch((error: unknown) => (outcome.error = error));
    await clock.advance(4_999);
    assert.ok(!('error' in outcome), 'still waiting before the deadline');
    await clock.advance(1);
    await pending;
    const settled = outcome.error;
    assert.ok(settled instanceof TimeoutError);
    assert.equal(settled.retriable, true);
    assert.match(settled.message, /Kafka: committing offsets of group 'g' did not finish within 5000 ms/);
  });

  it('passes answers and failures through before the deadline', async () => {
    const clock = new ManualClock();
    assert.equal(await withDeadline(Promise.resolve(7), 10, 'x', clock), 7);
    const failure = new Error('broker said no');
    await assert.rejects(withDeadline(Promise.reject(failure), 10, 'x', clock), (e) => e === failure);
    await clock.advance(100); // the cancelled timers do nothing
  });
});
