/**
 * The one source of time for runtime code: wall time, monotonic time, timers and the yield to
 * the event loop. Injected everywhere (coordinator, mailbox, timers, windows, lease, lag
 * refresh), so tests can run in virtual time with {@link ManualClock}; runtime code never calls
 * `Date.now`, `setTimeout` or `setImmediate` directly.
 */

/** A scheduled callback that can be cancelled. */
export interface Timer {
  cancel(): void;
}

/** Options of a timer. */
export interface TimerOptions {
  /** Keep the process alive while the timer is pending (default false: like an unref'd Node timer). */
  readonly keepAlive?: boolean;
}

/** The part of a clock that only tells wall time (stores that stamp expiries). */
export type WallClock = Pick<Clock, 'now'>;

export interface Clock {
  /** Wall-clock time, epoch millis: timestamps in checkpoints, commits, watermarks and lease expiry. */
  now(): number;
  /** Monotonic millis (arbitrary origin) for durations, deadlines and time slices. */
  monotonic(): number;
  /** Calls `callback` once after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): Timer;
  /** Calls `callback` every `periodMs` until cancelled. */
  setInterval(callback: () => void, periodMs: number, options?: TimerOptions): Timer;
  /** Resolves after `ms` (keeps the process alive meanwhile); rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Resolves on a later turn of the event loop (a macrotask), after pending I/O callbacks,
   * timers, signal handlers and worker messages had their turn. A loop that only awaits
   * resolved promises never lets them run; this is what it awaits between slices of work.
   */
  yieldToEventLoop(): Promise<void>;
}
