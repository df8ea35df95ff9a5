/**
 * A step of a run's final checkpoint that failed (its HA pointer, its sink commit). A periodic
 * checkpoint's failed step rides along with the next checkpoint; the final one has none, so the
 * step is tried again, a second apart, until it succeeds, this instance is fenced
 * (FencingError: never retried), or the run failed. The process's STOP_TIMEOUT_MS bounds the
 * wait of a stop, the group's hand-over timeout that of a hand-over.
 */
import { FencingError } from '../../errors.js';
import type { Clock } from '../time/clock.js';

/** Between two attempts at a failed step of the final checkpoint. */
export const FINAL_STEP_RETRY_MS = 1_000;

export interface FinalStepRetryOptions {
  readonly clock: Clock;
  /** True once the run failed: no further attempt. */
  readonly hasFailed: () => boolean;
  /** The first failure (later ones are not reported: the step is being retried). */
  readonly onFailing: (error: unknown) => void;
  /** The step succeeded after failing, `waitedMs` after its first failure. */
  readonly onRecovered: (waitedMs: number) => void;
}

/** Runs `step` until it succeeds; rethrows a FencingError, or the last failure once the run failed. */
export async function retryFinalStep(step: () => Promise<void>, options: FinalStepRetryOptions): Promise<void> {
  const { clock, hasFailed } = options;
  let failingSince: number | undefined;
  for (;;) {
    try {
      await step();
      if (failingSince !== undefined) options.onRecovered(Math.round(clock.monotonic() - failingSince));
      return;
    } catch (error) {
      if (error instanceof FencingError || hasFailed()) throw error;
      if (failingSince === undefined) {
        failingSince = clock.monotonic();
        options.onFailing(error);
      }
      await clock.sleep(FINAL_STEP_RETRY_MS);
      if (hasFailed()) throw error;
    }
  }
}
