import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKafkaClient } from '../../../../src/operators/kafka/kafka-client-factory.js';
import { loadKafkaConfig } from '../../../../src/operators/kafka/kafka-config.js';
import { toKafkaJsConfig } from '../../../../src/operators/kafka/kafkajs-client.js';
import { toPlatformaticOptions } from '../../../../src/operators/kafka/platformatic-options.js';

const SECRET = 's3cr3t-P@ss';

function config(env: Record<string, string>) {
  return loadKafkaConfig({ env: { KAFKA_BROKERS: 'b-1.example:9096,b-2.example:9096', KAFKA_CLIENT: 'platformatic', ...env }, jobName: 'orders' });
}

/** The presigned URL inside an MSK IAM token (base64url of the URL, as AWS documents it). */
function tokenUrl(token: string): URL {
  return new URL(Buffer.from(token, 'base64url').toString('utf8'));
}

describe('@platformatic/kafka client options', () => {
  it('KAFKA_CLIENT picks the client the source, dead-letter sink and producer CLI use', () => {
    assert.equal(createKafkaClient(config({ KAFKA_CLIENT: 'kafkajs' })).kind, 'kafkajs');
    assert.equal(createKafkaClient(config({})).kind, 'platformatic');
  });

  it('plaintext: brokers and client id, no TLS or SASL; bounded retries with growing, capped delays', () => {
    const options = toPlatformaticOptions(config({ KAFKA_CLIENT_ID: 'svc' }));
    assert.deepEqual(options.bootstrapBrokers, ['b-1.example:9096', 'b-2.example:9096']);
    assert.equal(options.clientId, 'svc');
    assert.equal(options.tls, undefined);
    assert.equal(options.sasl, undefined);
    // The library retries for ever when told `true`; never here.
    assert.ok(Number.isInteger(options.retries) && options.retries > 0 && options.retries <= 10);
    assert.ok((options.requestTimeout ?? 0) > 0 && (options.connectTimeout ?? 0) > 0);
    const delays = [1, 2, 3, 10, 50].map((attempt) => options.retryDelay({}, 'produce', attempt, options.retries, new Error('x')));
    assert.deepEqual(delays, [...delays].sort((a, b) => a - b));
    assert.ok(delays[0]! > 0 && delays.at(-1)! <= 5_000);
  });

  it('SCRAM over TLS with a custom CA: SNI on, the mechanism in Kafka spelling, the same credentials kafkajs gets', () => {
    const ca = join(mkdtempSync(join(tmpdir(), 'platformatic-options-')), 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    for (const [mechanism, expected] of [['scram-sha-512', 'SCRAM-SHA-512'], ['scram-sha-256', 'SCRAM-SHA-256'], ['plain', 'PLAIN']] as const) {
      const cfg = config({ KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: SECRET, KAFKA_SSL_CA_FILE: ca });
      const options = toPlatformaticOptions(cfg);
      assert.deepEqual(options.tls, { ca: [cfg.sslCa] });
      assert.equal(options.tlsServerName, true);
      assert.deepEqual(options.sasl, { mechanism: expected, username: 'svc', password: SECRET });
      assert.deepEqual(toKafkaJsConfig(cfg).sasl, { mechanism, username: 'svc', password: SECRET });
    }
    const tlsOnly = toPlatformaticOptions(config({ KAFKA_SECURITY: 'ssl' }));
    assert.deepEqual(tlsOnly.tls, {}, 'TLS with the system CAs');
    assert.equal(tlsOnly.sasl, undefined);
  });

  describe('aws-msk-iam', () => {
    const saved: Record<string, string | undefined> = {};
    const fake = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined };
    before(() => {
      // The signer takes credentials from the default chain; the environment comes first, so nothing leaves the machine.
      for (const [key, value] of Object.entries(fake)) {
        saved[key] = process.env[key];
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    after(() => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    it('is OAUTHBEARER over TLS whose token provider signs a fresh kafka-cluster:Connect URL for the region, like kafkajs', async () => {
      const cfg = config({ KAFKA_SASL_MECHANISM: 'aws-msk-iam', KAFKA_AWS_REGION: 'eu-west-1' });
      const options = toPlatformaticOptions(cfg);
      assert.deepEqual(options.tls, {});
      assert.equal(options.sasl?.mechanism, 'OAUTHBEARER');
      const provider = options.sasl?.token;
      assert.equal(typeof provider, 'function', 'a provider, asked on every (re)authentication, not a fixed token');
      const url = tokenUrl(await (provider as () => Promise<string>)());
      assert.equal(url.hostname, 'kafka.eu-west-1.amazonaws.com');
      assert.equal(url.searchParams.get('Action'), 'kafka-cluster:Connect');
      assert.match(url.searchParams.get('X-Amz-Credential') ?? '', /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/);
      assert.ok(url.searchParams.get('X-Amz-Signature'));

      const kjs = toKafkaJsConfig(cfg).sasl as { oauthBearerProvider: () => Promise<{ value: string }> };
      const viaKafkaJs = tokenUrl((await kjs.oauthBearerProvider()).value);
      assert.equal(viaKafkaJs.hostname, url.hostname);
      assert.equal(viaKafkaJs.searchParams.get('Action'), 'kafka-cluster:Connect');
    });
  });
});
