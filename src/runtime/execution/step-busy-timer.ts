import type { Clock } from '../time/clock.js';

/** Accumulated busy time of one step, in milliseconds (published as `streamline_step_busy_seconds_total`). */
export interface BusyMeter {
  ms: number;
}

/**
 * Busy time per step of one pipeline, as Flink's `busyTimeMsPerSecond`: operators run
 * synchronously inside their upstream's emit, so a step's own time is the time it ran minus
 * what the steps it called downstream ran meanwhile. Measured once per batch (two clock reads
 * and a push/pop), never per record. One timer per task loop: nesting follows the call stack.
 *
 * @example
 * const started = timer.enter();
 * operator.processBatch(records, collector); // downstream steps time themselves inside
 * timer.exit(meter, started);
 */
export class StepBusyTimer {
  /** Time spent in nested steps since the current step entered. */
  private nestedMs = 0;
  private readonly outer: number[] = [];

  constructor(private readonly clock: Clock) {}

  /** A step starts working; returns the start time to hand to {@link exit}. */
  enter(): number {
    this.outer.push(this.nestedMs);
    this.nestedMs = 0;
    return this.clock.monotonic();
  }

  /** The step that entered at `started` is done: its own time goes to `meter`. */
  exit(meter: BusyMeter, started: number): void {
    const elapsed = this.clock.monotonic() - started;
    meter.ms += Math.max(0, elapsed - this.nestedMs);
    this.nestedMs = (this.outer.pop() ?? 0) + elapsed;
  }
}
