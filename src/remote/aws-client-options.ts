import type { RemoteTimeouts } from './remote-call-settings.js';

/**
 * What every AWS SDK client of the process is built with: the HTTP handler's timeouts (connect,
 * request until the answer starts — thrown, not only logged — and socket idle, which also bounds
 * a response that stops streaming), and no SDK retries of its own: {@link callWithRetry} is the
 * one retry policy, so one deadline bounds each call.
 */
export interface AwsClientOptions {
  readonly maxAttempts: 1;
  readonly requestHandler: {
    readonly connectionTimeout: number;
    readonly requestTimeout: number;
    readonly socketTimeout: number;
    readonly throwOnRequestTimeout: true;
  };
}

export function awsClientOptions(timeouts: RemoteTimeouts): AwsClientOptions {
  return {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeouts.connectMs, requestTimeout: timeouts.requestMs, socketTimeout: timeouts.socketIdleMs, throwOnRequestTimeout: true },
  };
}
