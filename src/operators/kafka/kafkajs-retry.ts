import type { RetryOptions } from 'kafkajs';
import type { RetryPolicy } from '../../remote/retry-policy.js';

/**
 * The shared retry policy in kafkajs' terms: the same first and largest delay, and as many
 * retries as its exponential delays take to fill the deadline (kafkajs counts retries, not time;
 * it randomizes each delay by ±`factor`, its form of jitter).
 */
export function kafkaJsRetry(policy: RetryPolicy): RetryOptions {
  let retries = 0;
  for (let total = 0, delay = policy.baseDelayMs; total < policy.deadlineMs && retries < 100; retries++) {
    total += delay;
    delay = Math.min(policy.maxDelayMs, delay * 2);
  }
  return {
    initialRetryTime: policy.baseDelayMs,
    maxRetryTime: policy.maxDelayMs,
    multiplier: 2,
    factor: 0.2,
    retries: Math.max(1, Math.min(retries, Number.isFinite(policy.maxAttempts) ? policy.maxAttempts - 1 : retries)),
  };
}
