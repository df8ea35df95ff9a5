import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { Clock, Timer } from './time/clock.js';

/** Options of {@link EventLoopMonitor}. */
export interface EventLoopMonitorOptions {
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Warn when a window's 99th percentile delay exceeds this, ms (EVENT_LOOP_DELAY_WARN_MS). Default 200. */
  readonly warnAboveMs?: number;
  /** How often the delay histogram is read into the metrics, ms. Default 1000. */
  readonly windowMs?: number;
}

/** Delay of the event loop over a run, ms. */
export interface EventLoopDelaySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How many delay samples (one per 10 ms of loop time) the figures are over. */
  readonly samples: number;
}

const RESOLUTION_MS = 10;
/** At most one warning per this many windows, so a long stall logs once, not every second. */
const WARN_EVERY_WINDOWS = 10;

/**
 * Measures how late the event loop runs (`perf_hooks.monitorEventLoopDelay`): what a lease
 * renewal, a health probe, a worker message or a signal waits for when a task does not yield.
 * Every window the samples go into `streamline_event_loop_delay_seconds` (a Prometheus
 * histogram) and a window whose p99 exceeds the threshold is logged as a warning.
 */
export class EventLoopMonitor {
  private readonly window: IntervalHistogram;
  private readonly total: IntervalHistogram;
  private readonly warnAboveMs: number;
  private timer: Timer | undefined;
  private windowsSinceWarning = WARN_EVERY_WINDOWS;

  constructor(private readonly options: EventLoopMonitorOptions) {
    this.warnAboveMs = options.warnAboveMs ?? 200;
    this.window = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.total = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  }

  start(): this {
    if (this.timer !== undefined) return this;
    this.window.enable();
    this.total.enable();
    this.timer = this.options.clock.setInterval(() => this.readWindow(), this.options.windowMs ?? 1000);
    return this;
  }

  /** Reads the last window and stops measuring. */
  stop(): void {
    if (this.timer === undefined) return;
    this.timer.cancel();
    this.timer = undefined;
    this.readWindow();
    this.window.disable();
    this.total.disable();
  }

  /** Percentiles since `start()`. */
  summary(): EventLoopDelaySummary {
    const h = this.total;
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0, samples: 0 };
    return { p50Ms: h.percentile(50) / 1e6, p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6, samples: h.count };
  }

  private readWindow(): void {
    const h = this.window;
    const count = h.count;
    if (count > 0) {
      observeSamples(h, count, (seconds, n) => {
        for (let i = 0; i < n; i++) this.options.metrics.eventLoopDelay.observe(seconds);
      });
      const p99Ms = h.percentile(99) / 1e6;
      this.windowsSinceWarning++;
      if (p99Ms > this.warnAboveMs && this.windowsSinceWarning >= WARN_EVERY_WINDOWS) {
        this.windowsSinceWarning = 0;
        this.options.logger.warn(
          { p99Ms: Math.round(p99Ms), maxMs: Math.round(h.max / 1e6), thresholdMs: this.warnAboveMs },
          'the event loop is blocked: timers, lease renewal, health probes and signals run this late (a long synchronous step: see the profile, or lower the batch size)',
        );
      }
    }
    h.reset();
  }
}

/**
 * Turns the window's percentile curve back into samples: between two consecutive recorded
 * percentiles lie (Δp / 100) · count samples, all at most the higher one's value.
 */
function observeSamples(h: IntervalHistogram, count: number, observe: (seconds: number, n: number) => void): void {
  let previous = 0;
  let carry = 0;
  for (const [percentile, nanos] of h.percentiles) {
    const exact = ((percentile - previous) / 100) * count + carry;
    const n = Math.round(exact);
    carry = exact - n;
    previous = percentile;
    if (n > 0) observe(nanos / 1e9, n);
  }
}
