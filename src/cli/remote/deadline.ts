import { TimeoutError } from '../../errors.js';
import type { Clock } from '../../runtime/time/clock.js';

/**
 * Runs one remote call with a deadline: `call` gets a signal that aborts at the deadline (pass it
 * on where the client takes one), and the returned promise rejects with TimeoutError naming
 * `what` then, whether or not the client noticed.
 */
export async function withDeadline<T>(clock: Clock, ms: number, what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      const error = new TimeoutError(`${what}: no answer within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    timer?.cancel();
  }
}
