/**
 * Exponential backoff with full jitter (delay drawn from [0, min(max, base·2^attempt)]), so
 * writers that collided do not collide again in lockstep.
 */

export interface BackoffOptions {
  /** First delay ceiling, ms. */
  readonly baseDelayMs: number;
  /** Largest delay ceiling, ms. */
  readonly maxDelayMs: number;
}

/** Delay before retry number `attempt` (0-based). */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * Math.pow(2, attempt));
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
