import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { StreamlineError } from '../../../../src/errors.js';
import { watchHeartbeats } from '../../../../src/operators/kafka/platformatic-heartbeat-watch.js';
import { ManualClock } from '../../../../src/runtime/time/manual-clock.js';

const SESSION_MS = 6_000;

/** A consumer stand-in emitting the library's heartbeat events, with what the watch reported. */
function watched() {
  const clock = new ManualClock();
  const consumer = new EventEmitter();
  const failures: Error[] = [];
  watchHeartbeats(consumer, { groupId: 'orders-grp', sessionTimeoutMs: SESSION_MS, clock }, (error) => failures.push(error));
  const heartbeatFails = () => consumer.emit('consumer:heartbeat:error', { error: new Error('NOT_COORDINATOR') });
  const heartbeatSucceeds = () => consumer.emit('consumer:heartbeat:end', {});
  return { clock, consumer, failures, heartbeatFails, heartbeatSucceeds };
}

describe('watchHeartbeats (@platformatic/kafka group consumer)', () => {
  it('one failed heartbeat after a long silence (a paused process) is not fatal', async () => {
    const w = watched();
    w.heartbeatSucceeds();
    await w.clock.advance(5 * SESSION_MS);
    w.heartbeatFails();
    assert.equal(w.failures.length, 0);
  });

  it('heartbeats failing for longer than the session timeout in a row fail the consumer, naming the group', async () => {
    const w = watched();
    w.heartbeatSucceeds();
    for (let elapsed = 0; elapsed <= SESSION_MS; elapsed += 1_000) {
      w.heartbeatFails();
      await w.clock.advance(1_000);
    }
    assert.equal(w.failures.length, 0, 'failing for exactly the session timeout is still tolerated');
    w.heartbeatFails();
    assert.equal(w.failures.length, 1);
    assert.ok(w.failures[0] instanceof StreamlineError);
    assert.match(w.failures[0].message, /group 'orders-grp' has had only failing heartbeats for 7000 ms: NOT_COORDINATOR/);
  });

  it('a successful heartbeat or a (re)join in between starts the count afresh', async () => {
    for (const recover of ['consumer:heartbeat:end', 'consumer:group:join']) {
      const w = watched();
      w.heartbeatFails();
      await w.clock.advance(SESSION_MS - 1_000);
      w.consumer.emit(recover, {});
      await w.clock.advance(2_000);
      w.heartbeatFails();
      await w.clock.advance(SESSION_MS);
      w.heartbeatFails();
      assert.equal(w.failures.length, 0, `${recover} reset the run of failures`);
    }
  });
});
