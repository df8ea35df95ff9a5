import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaJsRetry } from '../../../../src/operators/kafka/kafkajs-retry.js';
import { loadKafkaConfig } from '../../../../src/operators/kafka/kafka-config.js';
import { toKafkaJsConfig } from '../../../../src/operators/kafka/kafkajs-client.js';

test('kafkajs retries as long as the shared deadline: its doubling delays, capped, add up to at least the deadline', () => {
  const retry = kafkaJsRetry({ deadlineMs: 30_000, maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 100, maxDelayMs: 5_000 });
  // 100+200+400+800+1600+3200 = 6300, then 5000 each: 11300, 16300, 21300, 26300, 31300 → 11 retries.
  assert.deepEqual(retry, { initialRetryTime: 100, maxRetryTime: 5_000, multiplier: 2, factor: 0.2, retries: 11 });
  assert.equal(kafkaJsRetry({ deadlineMs: 0, maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 100, maxDelayMs: 5_000 }).retries, 1);
  assert.equal(kafkaJsRetry({ deadlineMs: 30_000, maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5_000 }).retries, 2);
});

test('the kafkajs client gets the timeouts and retry settings of the environment', () => {
  const config = loadKafkaConfig({ env: { KAFKA_BROKERS: '127.0.0.1:9092', CONNECT_TIMEOUT_MS: '1500', REQUEST_TIMEOUT_MS: '7000', RETRY_DEADLINE_MS: '1000', RETRY_BASE_DELAY_MS: '50', RETRY_MAX_DELAY_MS: '400' }, jobName: 'orders' });
  const kafkaJs = toKafkaJsConfig(config);
  assert.equal(kafkaJs.connectionTimeout, 1_500);
  assert.equal(kafkaJs.requestTimeout, 7_000);
  // 50+100+200+400+400 = 1150 ≥ 1000 → 5 retries.
  assert.deepEqual(kafkaJs.retry, { initialRetryTime: 50, maxRetryTime: 400, multiplier: 2, factor: 0.2, retries: 5 });
});
