import { performance } from 'node:perf_hooks';
import type { Clock, Timer, TimerOptions } from './clock.js';

/** Node's own time: `Date.now`, `performance.now`, Node timers and `setImmediate`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): Timer {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    if (!options?.keepAlive) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(callback: () => void, periodMs: number, options?: TimerOptions): Timer {
    const handle = setInterval(callback, Math.max(1, periodMs));
    if (!options?.keepAlive) handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(handle);
        reject(signal?.reason);
      };
      const handle = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  yieldToEventLoop(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  },
};
