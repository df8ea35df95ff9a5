import { TimeoutError } from '../../errors.js';
import type { Clock } from '../../runtime/time/clock.js';

/**
 * Settles as `call` does, or rejects with a TimeoutError naming `what` after `ms`. The client's
 * own request timeouts and bounded retries come first; this bounds the whole operation (retries,
 * reconnects, metadata refreshes) so no Kafka call can hang a checkpoint, a hand-over or a stop.
 */
export function withDeadline<T>(call: Promise<T>, ms: number, what: string, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new TimeoutError(`Kafka: ${what} did not finish within ${ms} ms`)), ms);
    call.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
}
