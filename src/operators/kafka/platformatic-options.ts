import type { ConnectionOptions, RetryDelayGetter, SASLOptions } from '@platformatic/kafka';
import type { KafkaConfig } from './kafka-config.js';
import { mskIamToken } from './msk-iam-token.js';

/** How long a broker may take: connecting, answering one request, and how often a failed request is retried. */
export interface PlatformaticTimeouts {
  readonly connectTimeoutMs: number;
  /** Per request; a group consumer raises it above the rebalance timeout (JoinGroup waits that long). */
  readonly requestTimeoutMs: number;
  /** Retries of one failed request (the library retries for ever when told `true`; we never do). */
  readonly retries: number;
}

export const PLATFORMATIC_TIMEOUTS: PlatformaticTimeouts = { connectTimeoutMs: 10_000, requestTimeoutMs: 30_000, retries: 5 };

/** The client options every @platformatic/kafka client of one cluster shares. */
export interface PlatformaticBaseOptions extends ConnectionOptions {
  readonly clientId: string;
  readonly bootstrapBrokers: string[];
  readonly retries: number;
  readonly retryDelay: RetryDelayGetter;
  /** Server-side timeout sent with produce and topic-creation requests, ms. */
  readonly timeout: number;
}

/** Exponential backoff between retries of one request: 300 ms, 600 ms, … at most 5 s (kafkajs' defaults). */
export const retryDelay: RetryDelayGetter = (_client, _operation, attempt) => Math.min(5_000, 300 * 2 ** Math.max(0, attempt - 1));

/** Maps our validated settings to @platformatic/kafka's client options (TLS, SASL PLAIN/SCRAM, MSK IAM). */
export function toPlatformaticOptions(config: KafkaConfig, timeouts: PlatformaticTimeouts = PLATFORMATIC_TIMEOUTS): PlatformaticBaseOptions {
  const tls = config.security === 'ssl' || config.security === 'sasl_ssl';
  const sasl = toSasl(config);
  return {
    clientId: config.clientId,
    bootstrapBrokers: [...config.brokers],
    connectTimeout: timeouts.connectTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    retries: timeouts.retries,
    retryDelay,
    timeout: 30_000,
    // SNI with the broker's host name, as kafkajs sends it (MSK's certificates are per broker).
    ...(tls ? { tls: config.sslCa === undefined ? {} : { ca: [config.sslCa] }, tlsServerName: true } : {}),
    ...(sasl === undefined ? {} : { sasl }),
  };
}

/** The connection part of `options` (for a connection pool of our own, e.g. the fetch pool). */
export function connectionOptions(options: PlatformaticBaseOptions, requestTimeoutMs: number): ConnectionOptions {
  return {
    connectTimeout: options.connectTimeout,
    requestTimeout: requestTimeoutMs,
    ...(options.tls === undefined ? {} : { tls: options.tls, tlsServerName: options.tlsServerName }),
    ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
  };
}

function toSasl(config: KafkaConfig): SASLOptions | undefined {
  const sasl = config.sasl;
  if (sasl === undefined) return undefined;
  if (sasl.mechanism === 'aws-msk-iam') {
    const region = sasl.region;
    // A provider, not a token: asked again on every connection and re-authentication.
    return { mechanism: 'OAUTHBEARER', token: () => mskIamToken(region) };
  }
  const mechanism = sasl.mechanism === 'plain' ? 'PLAIN' : sasl.mechanism === 'scram-sha-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
  return { mechanism, username: sasl.username, password: sasl.password };
}
