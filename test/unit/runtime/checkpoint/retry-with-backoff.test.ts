import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryWithBackoff } from '../../../../src/runtime/checkpoint/retry-with-backoff.js';
import { isTransientAwsError } from '../../../../src/runtime/checkpoint/transient-aws-error.js';

test('retries transient failures with capped exponential full-jitter delays', async () => {
  const delays: number[] = [];
  let calls = 0;
  const result = await retryWithBackoff(
    async () => {
      if (++calls < 5) throw new Error('flaky');
      return 'done';
    },
    { policy: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 500 }, isRetriable: () => true, random: () => 0.999, sleep: async (ms) => void delays.push(ms) },
  );
  assert.equal(result, 'done');
  assert.deepEqual(delays, [99, 199, 399, 499]);
});

test('stops at once on a non-retriable error and after maxAttempts on retriable ones', async () => {
  let calls = 0;
  await assert.rejects(retryWithBackoff(async () => { calls++; throw new Error('fatal'); }, { isRetriable: () => false, sleep: async () => {} }), /fatal/);
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(retryWithBackoff(async () => { calls++; throw new Error('busy'); }, { policy: { maxAttempts: 3 }, isRetriable: () => true, sleep: async () => {} }), /busy/);
  assert.equal(calls, 3);
});

test('AWS errors: 5xx, throttling and network failures are transient; 4xx are not', () => {
  const status = (code: number, name = 'X') => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });
  assert.equal(isTransientAwsError(status(503, 'ServiceUnavailable')), true);
  assert.equal(isTransientAwsError(status(500, 'InternalError')), true);
  assert.equal(isTransientAwsError(status(400, 'ThrottlingException')), true);
  assert.equal(isTransientAwsError(status(400, 'ProvisionedThroughputExceededException')), true);
  assert.equal(isTransientAwsError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true);
  assert.equal(isTransientAwsError(new Error('wrapped', { cause: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) })), true);
  assert.equal(isTransientAwsError(status(412, 'PreconditionFailed')), false);
  assert.equal(isTransientAwsError(status(404, 'NoSuchKey')), false);
  assert.equal(isTransientAwsError(status(400, 'ConditionalCheckFailedException')), false);
  assert.equal(isTransientAwsError('string'), false);
});
