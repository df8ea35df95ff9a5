/**
 * The one retry policy of every remote call (S3, S3 Tables, DynamoDB, Kafka): retry transient
 * failures with capped exponential backoff and full jitter until a deadline, so an outage shorter
 * than the deadline is ridden out and many instances hitting the same dependency spread out
 * instead of retrying in lockstep.
 */

/** How long and how patiently one call retries. */
export interface RetryPolicy {
  /** No new attempt starts once this long has passed since the first one, ms (RETRY_DEADLINE_MS). */
  readonly deadlineMs: number;
  /** Attempts including the first, whatever the deadline (Infinity: the deadline alone decides). */
  readonly maxAttempts: number;
  /** Ceiling of the first delay, ms (RETRY_BASE_DELAY_MS). */
  readonly baseDelayMs: number;
  /** Largest delay ceiling, ms (RETRY_MAX_DELAY_MS). */
  readonly maxDelayMs: number;
}

/** 30 s of retries, delays drawn from [0, 100 ms·2^n] capped at 5 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { deadlineMs: 30_000, maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 100, maxDelayMs: 5_000 };

/** Delay before the retry that follows failed attempt `attempt` (1-based): uniform in [0, min(max, base·2^(attempt-1))]. */
export function backoffDelayMs(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
