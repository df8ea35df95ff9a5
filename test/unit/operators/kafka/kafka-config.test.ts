import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../../src/errors.js';
import { KAFKA_SETTINGS, kafkaConfigured, loadKafkaConfig } from '../../../../src/operators/kafka/kafka-config.js';
import { toKafkaJsConfig } from '../../../../src/operators/kafka/kafkajs-client.js';

const SECRET = 's3cr3t-P@ss';

function rejects(env: Record<string, string>, setting: string): ConfigError {
  let caught: unknown;
  try {
    loadKafkaConfig({ env, jobName: 'orders' });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError for ${setting}, got ${String(caught)}`);
  assert.equal(caught.setting, setting);
  assert.match(caught.message, new RegExp(setting));
  return caught;
}

describe('loadKafkaConfig', () => {
  it('fills defaults from brokers alone', () => {
    const config = loadKafkaConfig({ env: { KAFKA_BROKERS: '127.0.0.1:9092, broker-2.example:9094' }, jobName: 'orders' });
    assert.deepEqual(config.brokers, ['127.0.0.1:9092', 'broker-2.example:9094']);
    assert.equal(config.groupId, 'streamline.orders');
    assert.equal(config.clientId, 'streamline');
    assert.deepEqual(config.startFrom, { kind: 'earliest' });
    assert.equal(config.security, 'plaintext');
    assert.equal(config.sasl, undefined);
    assert.equal(config.topic, undefined);
  });

  it('reports whether Kafka is configured', () => {
    assert.equal(kafkaConfigured({ env: {} }), false);
    assert.equal(kafkaConfigured({ env: { KAFKA_BROKERS: '  ' } }), false);
    assert.equal(kafkaConfigured({ env: {}, flags: { 'kafka-brokers': 'h:1' } }), true);
  });

  it('lets flags override env', () => {
    const config = loadKafkaConfig({
      env: { KAFKA_BROKERS: 'a:1', KAFKA_GROUP_ID: 'from-env' },
      flags: { 'kafka-group-id': 'from-flag', 'kafka-start-from': 'latest' },
    });
    assert.equal(config.groupId, 'from-flag');
    assert.deepEqual(config.startFrom, { kind: 'latest' });
  });

  it('parses ISO timestamps as start positions', () => {
    const config = loadKafkaConfig({ env: { KAFKA_BROKERS: 'a:1', KAFKA_START_FROM: '2024-05-01T12:00:00Z' }, jobName: 'j' });
    assert.deepEqual(config.startFrom, { kind: 'timestamp', timestamp: Date.UTC(2024, 4, 1, 12) });
  });

  it('names the invalid setting', () => {
    rejects({}, 'KAFKA_BROKERS');
    rejects({ KAFKA_BROKERS: 'no-port' }, 'KAFKA_BROKERS');
    rejects({ KAFKA_BROKERS: 'h:70000' }, 'KAFKA_BROKERS');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_START_FROM: 'yesterday' }, 'KAFKA_START_FROM');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_START_FROM: '2024-13-45T00:00:00Z' }, 'KAFKA_START_FROM');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_GROUP_ID: 'bad group' }, 'KAFKA_GROUP_ID');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_TOPIC: 'a/b' }, 'KAFKA_TOPIC');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SECURITY: 'tls' }, 'KAFKA_SECURITY');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SECURITY: 'sasl_ssl' }, 'KAFKA_SASL_MECHANISM');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: SECRET }, 'KAFKA_SASL_USERNAME');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_PASSWORD');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: SECRET, KAFKA_SECURITY: 'ssl' }, 'KAFKA_SECURITY');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SASL_MECHANISM: 'aws-msk-iam' }, 'KAFKA_AWS_REGION');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SASL_MECHANISM: 'aws-msk-iam', AWS_REGION: 'us-east-1', KAFKA_SECURITY: 'sasl_plaintext' }, 'KAFKA_SECURITY');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem', KAFKA_SECURITY: 'ssl' }, 'KAFKA_SSL_CA_FILE');
    rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SSL_CA_FILE: '/etc/hostname' }, 'KAFKA_SSL_CA_FILE');
  });

  it('requires a group id without a job name', () => {
    assert.throws(() => loadKafkaConfig({ env: { KAFKA_BROKERS: 'h:1' } }), (e: unknown) => e instanceof ConfigError && e.setting === 'KAFKA_GROUP_ID');
  });

  it('accepts SCRAM over TLS with a custom CA and never prints the password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kafka-config-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const config = loadKafkaConfig({
      env: { KAFKA_BROKERS: 'b:9096', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: SECRET, KAFKA_SSL_CA_FILE: ca },
      jobName: 'payments',
    });
    assert.equal(config.security, 'sasl_ssl');
    assert.deepEqual(config.sasl, { mechanism: 'scram-sha-512', username: 'svc', password: SECRET });
    assert.ok(config.sslCa?.includes('BEGIN CERTIFICATE'));
    assert.ok(!JSON.stringify(config).includes(SECRET));
    assert.ok(!inspect(config, { depth: 5 }).includes(SECRET));
    const kjs = toKafkaJsConfig(config);
    assert.deepEqual(kjs.ssl, { ca: [config.sslCa] });
    assert.deepEqual(kjs.sasl, { mechanism: 'scram-sha-512', username: 'svc', password: SECRET });
  });

  it('never echoes the password in errors', () => {
    const error = rejects({ KAFKA_BROKERS: 'h:1', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: SECRET, KAFKA_SECURITY: 'bogus' }, 'KAFKA_SASL_USERNAME');
    assert.ok(!error.message.includes(SECRET));
  });

  it('maps aws-msk-iam to an oauthbearer provider', () => {
    const config = loadKafkaConfig({ env: { KAFKA_BROKERS: 'b:9098', KAFKA_SASL_MECHANISM: 'aws-msk-iam', KAFKA_AWS_REGION: 'eu-west-1' }, jobName: 'j' });
    assert.deepEqual(config.sasl, { mechanism: 'aws-msk-iam', region: 'eu-west-1' });
    const kjs = toKafkaJsConfig(config);
    assert.equal(kjs.ssl, true);
    assert.equal(kjs.sasl?.mechanism, 'oauthbearer');
    assert.equal(typeof (kjs.sasl as { oauthBearerProvider?: unknown }).oauthBearerProvider, 'function');
  });

  it('chooses the client library with KAFKA_CLIENT: kafkajs by default, flags override env', () => {
    assert.equal(loadKafkaConfig({ env: { KAFKA_BROKERS: 'h:1' }, jobName: 'j' }).client, 'kafkajs');
    const platformatic = loadKafkaConfig({ env: { KAFKA_BROKERS: 'h:1', KAFKA_CLIENT: ' Platformatic ' }, jobName: 'j' });
    assert.equal(platformatic.client, 'platformatic');
    assert.equal((JSON.parse(JSON.stringify(platformatic)) as { client?: string }).client, 'platformatic', 'logged with the config');
    assert.equal(loadKafkaConfig({ env: { KAFKA_BROKERS: 'h:1', KAFKA_CLIENT: 'platformatic' }, flags: { 'kafka-client': 'kafkajs' }, jobName: 'j' }).client, 'kafkajs');
    assert.ok(KAFKA_SETTINGS.some((s) => s.env === 'KAFKA_CLIENT' && s.flag === 'kafka-client'));
  });

  it('rejects an unknown KAFKA_CLIENT, and timeouts @platformatic/kafka refuses, naming the setting', () => {
    for (const value of ['librdkafka', 'kafka-js', 'node-rdkafka']) {
      assert.throws(
        () => loadKafkaConfig({ env: { KAFKA_BROKERS: 'h:1', KAFKA_CLIENT: value }, jobName: 'j' }),
        (e: unknown) => e instanceof ConfigError && e.setting === 'KAFKA_CLIENT (--kafka-client)' && e.message.includes(`'${value}'`) && e.message.includes('kafkajs, platformatic'),
      );
    }
    const timeouts = { KAFKA_BROKERS: 'h:1', KAFKA_SESSION_TIMEOUT_MS: '30000', KAFKA_REBALANCE_TIMEOUT_MS: '10000' };
    assert.equal(loadKafkaConfig({ env: timeouts, jobName: 'j' }).rebalanceTimeoutMs, 10_000, 'kafkajs takes a rebalance timeout below the session timeout');
    rejects({ ...timeouts, KAFKA_CLIENT: 'platformatic' }, 'KAFKA_REBALANCE_TIMEOUT_MS');
  });

  it('lists every setting with a kebab-case flag', () => {
    for (const s of KAFKA_SETTINGS) assert.equal(s.flag, s.env.toLowerCase().replaceAll('_', '-'));
    assert.ok(KAFKA_SETTINGS.some((s) => s.env === 'KAFKA_SASL_PASSWORD' && s.secret));
  });
});
