import { StreamlineError } from '../errors.js';

/**
 * Which failures of a remote call are worth retrying: server errors, throttling, timeouts and
 * connection-level network errors of the AWS SDK, kafkajs' retriable errors, and our own errors
 * marked `retriable`. Client errors (4xx such as 403, 404, 412, a failed condition) are not.
 */

const TRANSIENT_NAMES = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded',
  'SlowDown', 'ProvisionedThroughputExceededException', 'RequestThrottled', 'RequestThrottledException',
  'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'InternalError', 'InternalServerError',
  'ServiceUnavailable', 'ServiceUnavailableException', 'ConditionalRequestConflict', 'TransactionConflictException',
  // kafkajs: lost or refused connections and requests the broker did not answer in time.
  'KafkaJSConnectionError', 'KafkaJSRequestTimeoutError', 'KafkaJSConnectionClosedError', 'KafkaJSBrokerNotFound',
  'KafkaJSNumberOfRetriesExceeded', 'KafkaJSLockTimeout',
]);

const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE',
]);

interface ErrorLike {
  name?: string;
  code?: string;
  retriable?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** True for failures a later attempt of the same call may not hit. */
export function isTransientFailure(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 8) return false;
  // Our own errors say it themselves (a CommitConflictError, a TimeoutError, a wrapped store failure).
  if (error instanceof StreamlineError) return error.retriable || isTransientFailure(error.cause, depth + 1);
  const err = error as ErrorLike;
  if (err.$retryable !== undefined) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (err.name !== undefined && TRANSIENT_NAMES.has(err.name)) return true;
  if (err.code !== undefined && TRANSIENT_CODES.has(err.code)) return true;
  // kafkajs' KafkaJSError carries `retriable` (protocol errors such as NOT_LEADER_FOR_PARTITION).
  if (err.retriable === true && typeof err.name === 'string' && err.name.startsWith('KafkaJS')) return true;
  return err.cause !== error && isTransientFailure(err.cause, depth + 1);
}

/** HTTP status of an SDK error, if it carries one. */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as ErrorLike | undefined)?.$metadata?.httpStatusCode;
}
