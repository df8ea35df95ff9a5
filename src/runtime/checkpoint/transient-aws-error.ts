import { StreamlineError } from '../../errors.js';

/**
 * Which AWS SDK failures are worth retrying: server errors, throttling, timeouts and
 * connection-level network errors. Client errors (4xx such as 403, 404, 412) are not.
 */

const TRANSIENT_NAMES = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded',
  'SlowDown', 'ProvisionedThroughputExceededException', 'RequestThrottled', 'RequestThrottledException',
  'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'InternalError', 'InternalServerError',
  'ServiceUnavailable', 'ServiceUnavailableException', 'ConditionalRequestConflict', 'TransactionConflictException',
]);

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** True for errors a later retry of the same request may not hit. */
export function isTransientAwsError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  // Our own errors say it themselves (a CommitConflictError, a TimeoutError, a wrapped store failure).
  if (error instanceof StreamlineError) return error.retriable || (error.cause !== undefined && error.cause !== error && isTransientAwsError(error.cause));
  const err = error as AwsLikeError;
  if (err.$retryable !== undefined) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (err.name !== undefined && TRANSIENT_NAMES.has(err.name)) return true;
  if (err.code !== undefined && TRANSIENT_NETWORK_CODES.has(err.code)) return true;
  return err.cause !== undefined && err.cause !== error && isTransientAwsError(err.cause);
}

/** HTTP status of an SDK error, if it carries one. */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as AwsLikeError | undefined)?.$metadata?.httpStatusCode;
}
