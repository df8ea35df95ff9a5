import type { Clock, Timer, TimerOptions } from './clock.js';

interface ScheduledTimer {
  readonly id: number;
  due: number;
  readonly periodMs: number | undefined;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * Virtual time for tests (Flink's `ManualClock`): time stands still until `advance()` moves it;
 * timers and sleeps due by then fire in time order. `yieldToEventLoop` still takes a real
 * macrotask turn, so code under test cannot spin the event loop even in virtual time.
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private nextId = 1;
  private timers: ScheduledTimer[] = [];

  constructor(startEpochMs = 1_700_000_000_000) {
    this.wall = startEpochMs;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(callback: () => void, delayMs: number, _options?: TimerOptions): Timer {
    return this.schedule(callback, Math.max(0, delayMs), undefined);
  }

  setInterval(callback: () => void, periodMs: number, _options?: TimerOptions): Timer {
    return this.schedule(callback, Math.max(1, periodMs), Math.max(1, periodMs));
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        timer.cancel();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  yieldToEventLoop(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in time order (a timer that
   * schedules another one inside the window sees it fire too). Microtasks run between timers.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    const target = this.mono + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: ScheduledTimer | undefined;
      for (const t of this.timers) if (t.due <= target && (next === undefined || t.due < next.due || (t.due === next.due && t.id < next.id))) next = t;
      if (next === undefined) break;
      this.moveTo(next.due);
      if (next.periodMs === undefined) next.cancelled = true;
      else next.due += next.periodMs;
      next.callback();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.moveTo(target);
  }

  private moveTo(mono: number): void {
    if (mono <= this.mono) return;
    this.wall += mono - this.mono;
    this.mono = mono;
  }

  private schedule(callback: () => void, delayMs: number, periodMs: number | undefined): Timer {
    const timer: ScheduledTimer = { id: this.nextId++, due: this.mono + delayMs, periodMs, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
}
