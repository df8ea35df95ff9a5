import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DependencyUnavailableError, failedDependency, StreamlineError, TimeoutError } from '../../../src/errors.js';
import { callWithRetry, type RetryClock } from '../../../src/remote/call-with-retry.js';
import { backoffDelayMs, type RetryPolicy } from '../../../src/remote/retry-policy.js';
import { isTransientFailure } from '../../../src/remote/transient-failure.js';
import { remoteCallSettings } from '../../../src/remote/remote-call-settings.js';
import { ConfigError } from '../../../src/errors.js';
import { ManualClock } from '../../../src/runtime/time/manual-clock.js';

const call = { dependency: 'S3', action: 'PutObject s3://b/k' };
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

/** Records sleeps and advances a virtual monotonic clock by them (no real waiting). */
function recordingClock(): RetryClock & { slept: number[]; t: number } {
  const clock = {
    t: 0,
    slept: [] as number[],
    monotonic: () => clock.t,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.t += ms;
    },
    setTimeout: () => ({ cancel: () => undefined }),
  };
  return clock;
}

test('backoff: full jitter under a ceiling that doubles per attempt up to the cap', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 500 };
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, policy, () => 0.999)), [99, 199, 399, 499, 499]);
  assert.equal(backoffDelayMs(3, policy, () => 0), 0);
});

test('an outage shorter than the deadline is ridden out: transient failures are retried until one succeeds', async () => {
  const clock = recordingClock();
  let attempts = 0;
  const policy: RetryPolicy = { deadlineMs: 10_000, maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 1_000 };
  const result = await callWithRetry(
    call,
    async () => {
      attempts++;
      clock.t += 500; // each refused attempt takes a while
      if (clock.t < 6_000) throw refused();
      return 'stored';
    },
    { policy, clock, random: () => 0.5 },
  );
  assert.equal(result, 'stored');
  assert.ok(attempts > 5, `attempts ${attempts}`);
  assert.ok(clock.slept.every((ms) => ms <= 500));
});

test('past the deadline the call fails with a DependencyUnavailableError naming the dependency, the call and the last failure', async () => {
  const clock = recordingClock();
  let attempts = 0;
  const policy: RetryPolicy = { deadlineMs: 3_000, maxAttempts: Infinity, baseDelayMs: 200, maxDelayMs: 400 };
  const error = await callWithRetry(call, async () => {
    attempts++;
    throw refused();
  }, { policy, clock, random: () => 1 }).catch((e: unknown) => e);
  assert.ok(error instanceof DependencyUnavailableError);
  assert.equal(error.dependency, 'S3');
  assert.equal(error.retriable, true);
  assert.equal(failedDependency(new StreamlineError('sink failed', { cause: error })), 'S3');
  assert.match(error.message, /^S3 unavailable: PutObject s3:\/\/b\/k failed \d+ times over \d+\.\d s; last: Error: connect ECONNREFUSED 127.0.0.1:1$/);
  // Never sleeps past the deadline: the sleeps add up to less than it.
  assert.ok(clock.slept.reduce((a, b) => a + b, 0) < policy.deadlineMs);
  assert.equal(attempts, clock.slept.length + 1);
});

test('a failure that is not transient is rethrown unchanged at once (callers recognise a 404 or a 412)', async () => {
  let attempts = 0;
  const notFound = Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
  await assert.rejects(
    callWithRetry(call, async () => {
      attempts++;
      throw notFound;
    }, { clock: recordingClock() }),
    (e: unknown) => e === notFound,
  );
  assert.equal(attempts, 1);
});

test('each attempt is bounded by attemptTimeoutMs: a call that never answers is aborted and retried', async () => {
  const clock = new ManualClock();
  const seen: AbortSignal[] = [];
  let attempts = 0;
  const result = callWithRetry(
    { dependency: 'DynamoDB', action: 'renew the lease' },
    (signal) => {
      attempts++;
      seen.push(signal!);
      if (attempts >= 3) return Promise.resolve('renewed');
      // Accepted and never answered, until aborted (as the SDK does with abortSignal).
      return new Promise((_, reject) => signal!.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));
    },
    { attemptTimeoutMs: 1_000, clock, policy: { deadlineMs: 60_000, maxAttempts: Infinity, baseDelayMs: 10, maxDelayMs: 10 }, random: () => 0 },
  );
  for (let i = 0; i < 10 && attempts < 3; i++) await clock.advance(1_000);
  assert.equal(await result, 'renewed');
  assert.equal(attempts, 3);
  assert.ok(seen[0]!.aborted && seen[0]!.reason instanceof TimeoutError);
});

test('cancelling stops the retries and rejects with the reason, also while backing off', async () => {
  const clock = new ManualClock();
  const cancel = new AbortController();
  let attempts = 0;
  const pending = callWithRetry(call, async () => {
    attempts++;
    throw refused();
  }, { clock, signal: cancel.signal, policy: { deadlineMs: 60_000, maxAttempts: Infinity, baseDelayMs: 5_000, maxDelayMs: 5_000 }, random: () => 1 });
  await clock.advance(0);
  cancel.abort(new StreamlineError('stopping'));
  await assert.rejects(pending, /stopping/);
  assert.equal(attempts, 1);
});

test('transient: 5xx, throttling, timeouts, network codes, kafkajs connection errors, retriable errors of ours; not 4xx', () => {
  const status = (code: number, name = 'X') => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });
  assert.equal(isTransientFailure(status(503, 'ServiceUnavailable')), true);
  assert.equal(isTransientFailure(status(400, 'ThrottlingException')), true);
  assert.equal(isTransientFailure(Object.assign(new Error('t'), { name: 'TimeoutError' })), true);
  assert.equal(isTransientFailure(new Error('wrapped', { cause: refused() })), true);
  assert.equal(isTransientFailure(Object.assign(new Error('c'), { name: 'KafkaJSConnectionError' })), true);
  assert.equal(isTransientFailure(Object.assign(new Error('n'), { name: 'KafkaJSProtocolError', retriable: true })), true);
  assert.equal(isTransientFailure(new TimeoutError('slow')), true);
  assert.equal(isTransientFailure(status(412, 'PreconditionFailed')), false);
  assert.equal(isTransientFailure(status(404, 'NoSuchKey')), false);
  assert.equal(isTransientFailure(status(400, 'ConditionalCheckFailedException')), false);
  assert.equal(isTransientFailure(Object.assign(new Error('n'), { name: 'KafkaJSProtocolError', retriable: false })), false);
  assert.equal(isTransientFailure('string'), false);
});

test('settings: defaults, overrides, and a ConfigError naming the setting and its flag', () => {
  const defaults = remoteCallSettings({});
  assert.deepEqual(defaults.timeouts, { connectMs: 3_000, requestMs: 30_000, socketIdleMs: 10_000 });
  assert.equal(defaults.retry.deadlineMs, 30_000);
  const set = remoteCallSettings({ RETRY_DEADLINE_MS: '5000', SOCKET_IDLE_TIMEOUT_MS: '2000' });
  assert.equal(set.retry.deadlineMs, 5_000);
  assert.equal(set.timeouts.socketIdleMs, 2_000);
  assert.throws(() => remoteCallSettings({ REQUEST_TIMEOUT_MS: 'soon' }), (e: unknown) => e instanceof ConfigError && e.setting === 'REQUEST_TIMEOUT_MS (--request-timeout-ms)');
  assert.throws(() => remoteCallSettings({ RETRY_BASE_DELAY_MS: '900', RETRY_MAX_DELAY_MS: '100' }), (e: unknown) => e instanceof ConfigError && /RETRY_MAX_DELAY_MS/.test(e.setting));
});
