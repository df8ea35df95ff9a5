import { ConfigError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';

/** How long one attempt of a remote call may take, by phase (ms). */
export interface RemoteTimeouts {
  /** Establishing the TCP (and TLS) connection (CONNECT_TIMEOUT_MS). */
  readonly connectMs: number;
  /** From sending a request to the start of its answer, upload included (REQUEST_TIMEOUT_MS). */
  readonly requestMs: number;
  /** No byte in either direction for this long, also while a response streams (SOCKET_IDLE_TIMEOUT_MS). */
  readonly socketIdleMs: number;
}

/** Timeouts and retries of every AWS and Kafka call of a process: plain data, so worker threads get the same. */
export interface RemoteCallSettings {
  readonly retry: RetryPolicy;
  readonly timeouts: RemoteTimeouts;
}

export const DEFAULT_TIMEOUTS: RemoteTimeouts = { connectMs: 3_000, requestMs: 30_000, socketIdleMs: 10_000 };

export const DEFAULT_REMOTE_CALL_SETTINGS: RemoteCallSettings = { retry: DEFAULT_RETRY_POLICY, timeouts: DEFAULT_TIMEOUTS };

/** The settings this module reads, with their meaning (for `--help` and the docs). */
export const REMOTE_CALL_SETTINGS = [
  ['RETRY_DEADLINE_MS', 'How long one AWS or Kafka call retries transient failures (outages shorter than this pass unnoticed; default 30000).'],
  ['RETRY_BASE_DELAY_MS', 'First backoff ceiling of those retries; delays are drawn at random up to it, doubling per attempt (default 100).'],
  ['RETRY_MAX_DELAY_MS', 'Largest backoff ceiling (default 5000).'],
  ['CONNECT_TIMEOUT_MS', 'Connecting to AWS or a Kafka broker (default 3000).'],
  ['REQUEST_TIMEOUT_MS', 'A request until its answer starts (default 30000).'],
  ['SOCKET_IDLE_TIMEOUT_MS', 'An AWS connection with no traffic either way, also mid-response (default 10000).'],
] as const;

/** Reads and validates the timeouts and retry policy; ConfigError names the setting. */
export function remoteCallSettings(settings: Readonly<Record<string, string | undefined>>): RemoteCallSettings {
  const retry: RetryPolicy = {
    deadlineMs: millis(settings, 'RETRY_DEADLINE_MS', DEFAULT_RETRY_POLICY.deadlineMs, 0),
    maxAttempts: DEFAULT_RETRY_POLICY.maxAttempts,
    baseDelayMs: millis(settings, 'RETRY_BASE_DELAY_MS', DEFAULT_RETRY_POLICY.baseDelayMs, 1),
    maxDelayMs: millis(settings, 'RETRY_MAX_DELAY_MS', DEFAULT_RETRY_POLICY.maxDelayMs, 1),
  };
  if (retry.maxDelayMs < retry.baseDelayMs) throw new ConfigError(label('RETRY_MAX_DELAY_MS'), `must be >= RETRY_BASE_DELAY_MS (${retry.baseDelayMs}), got ${retry.maxDelayMs}`);
  const timeouts: RemoteTimeouts = {
    connectMs: millis(settings, 'CONNECT_TIMEOUT_MS', DEFAULT_TIMEOUTS.connectMs, 100),
    requestMs: millis(settings, 'REQUEST_TIMEOUT_MS', DEFAULT_TIMEOUTS.requestMs, 100),
    socketIdleMs: millis(settings, 'SOCKET_IDLE_TIMEOUT_MS', DEFAULT_TIMEOUTS.socketIdleMs, 100),
  };
  return { retry, timeouts };
}

function label(env: string): string {
  return `${env} (--${env.toLowerCase().replaceAll('_', '-')})`;
}

function millis(settings: Readonly<Record<string, string | undefined>>, env: string, fallback: number, min: number): number {
  const raw = settings[env];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(label(env), `must be an integer number of milliseconds >= ${min}, got '${raw}'`);
  return value;
}
