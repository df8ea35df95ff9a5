/**
 * Retries an operation on transient failures with capped exponential backoff and full jitter
 * (delay drawn uniformly from [0, min(cap, base·2^attempt)]), so many instances hitting the same
 * throttled service spread out instead of retrying in lockstep.
 */

import { systemClock } from '../time/system-clock.js';

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Total attempts including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Defaults for checkpoint and HA store calls: 6 attempts, 100 ms base, 5 s cap. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 };

/** Options of retryWithBackoff. */
export interface RetryOptions {
  readonly policy?: Partial<RetryPolicy>;
  readonly isRetriable: (error: unknown) => boolean;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Injected in tests. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Runs `operation` until it succeeds, fails with a non-retriable error, or attempts run out. */
export async function retryWithBackoff<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => systemClock.sleep(ms));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (attempt >= policy.maxAttempts || !options.isRetriable(err)) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.floor(random() * ceiling);
      options.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
