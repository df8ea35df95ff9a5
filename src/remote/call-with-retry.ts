import { DependencyUnavailableError, TimeoutError } from '../errors.js';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
import { isTransientFailure } from './transient-failure.js';

/** One remote call, as failures name it: `S3` / `PutObject s3://bucket/key`. */
export interface RemoteCall {
  /** The service: `S3`, `S3 Tables`, `DynamoDB`, `Kafka`. */
  readonly dependency: string;
  /** What was asked of it. */
  readonly action: string;
}

/** The time a retry loop needs; the runtime's Clock fits (tests pass a ManualClock). */
export interface RetryClock {
  monotonic(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  setTimeout(callback: () => void, delayMs: number): { cancel(): void };
}

/** Options of {@link callWithRetry}. */
export interface CallOptions {
  readonly policy?: RetryPolicy;
  /** Cancels the call: no further attempt starts, the attempt in flight gets the signal, the call rejects with its reason. */
  readonly signal?: AbortSignal;
  /** Bounds each attempt (aborts it, a retriable TimeoutError); unset: the client's own timeouts bound it. */
  readonly attemptTimeoutMs?: number;
  /** Which failures to retry (default: {@link isTransientFailure}). */
  readonly isRetriable?: (error: unknown) => boolean;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly clock?: RetryClock;
  readonly random?: () => number;
}

/** Node's timers, for callers below the runtime (the table-format library, storage) that have no Clock. */
export const nodeTimers: RetryClock = {
  monotonic: () => performance.now(),
  setTimeout: (callback, delayMs) => {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Runs `operation` (passing it an AbortSignal for the SDK's `abortSignal`) until it succeeds,
 * fails with an error that is not retriable (rethrown unchanged, so callers still recognise a
 * 404 or a 412), or the policy's deadline or attempts run out — then rejects with a
 * {@link DependencyUnavailableError} naming the dependency, the call, the attempts and the last
 * failure. Never sleeps past the deadline.
 */
export async function callWithRetry<T>(call: RemoteCall, operation: (signal: AbortSignal | undefined, attempt: number) => Promise<T>, options: CallOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const clock = options.clock ?? nodeTimers;
  const isRetriable = options.isRetriable ?? isTransientFailure;
  const started = clock.monotonic();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    let error: unknown;
    try {
      return await attemptOnce(call, operation, attempt, options, clock);
    } catch (caught) {
      error = caught;
    }
    if (options.signal?.aborted) throw options.signal.reason;
    if (!isRetriable(error)) throw error;
    const elapsed = clock.monotonic() - started;
    const delayMs = backoffDelayMs(attempt, policy, options.random);
    if (attempt >= policy.maxAttempts || elapsed + delayMs >= policy.deadlineMs) {
      throw new DependencyUnavailableError(
        call.dependency,
        `${call.dependency} unavailable: ${call.action} failed ${attempt} time${attempt === 1 ? '' : 's'} over ${(elapsed / 1000).toFixed(1)} s; last: ${describe(error)}`,
        { cause: error },
      );
    }
    options.onRetry?.(error, attempt, delayMs);
    await clock.sleep(delayMs, options.signal);
  }
}

async function attemptOnce<T>(
  call: RemoteCall,
  operation: (signal: AbortSignal | undefined, attempt: number) => Promise<T>,
  attempt: number,
  options: CallOptions,
  clock: RetryClock,
): Promise<T> {
  if (options.attemptTimeoutMs === undefined) return operation(options.signal, attempt);
  const timeoutMs = options.attemptTimeoutMs;
  const timeout = new AbortController();
  const timer = clock.setTimeout(() => timeout.abort(new TimeoutError(`${call.dependency}: ${call.action} did not answer within ${timeoutMs} ms`)), timeoutMs);
  const signal = options.signal === undefined ? timeout.signal : AbortSignal.any([options.signal, timeout.signal]);
  try {
    return await operation(signal, attempt);
  } catch (error) {
    // The SDK rejects an aborted request with its own AbortError: report the timeout instead.
    if (timeout.signal.aborted && !options.signal?.aborted) throw timeout.signal.reason;
    throw error;
  } finally {
    timer.cancel();
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' && !error.message.includes(code) ? ` ${code}` : ''}: ${error.message}`;
}
