/**
 * Secrets never appear in logs. The shared broker has no SASL listener, so the job's SASL login
 * fails — an error path, where a client or the job is most tempted to print its configuration.
 * The job (debug logging) and `check` run with SASL SCRAM credentials and an AWS secret key known
 * only to this test; their whole output must name neither secret, while it must show that the
 * SASL handshake was attempted and refused (else the check would prove nothing). The broker
 * refuses the handshake before any credential is sent, so a successful SCRAM login (and what a
 * client logs after it) is not covered: that needs a SASL listener on the broker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { JobProcess } from '../ha-failover/job-process.js';
import { runCli } from '../operations/support/operator-cli.js';

test('SASL password and AWS secret key appear nowhere in the output of a job and of check whose SASL login fails', { timeout: 180_000 }, async (t) => {
  const endpoints = await ensureServices({ kafka: true, moto: true });
  const workDir = mkdtempSync(join(tmpdir(), 'secrets-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const password = `sasl-pw-${uniqueName('')}`;
  const awsSecret = `aws-sk-${uniqueName('')}`;
  const env: Record<string, string> = {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_TOPIC: uniqueName('secrets-'),
    KAFKA_SECURITY: 'sasl_plaintext',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'chaos-user',
    KAFKA_SASL_PASSWORD: password,
    AWS_ENDPOINT_URL: endpoints.awsEndpoint,
    AWS_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: awsSecret,
    STREAMLINE_WORK_DIR: workDir,
    METRICS_PORT: '0',
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
    RETRY_DEADLINE_MS: '5000',
    CONNECT_TIMEOUT_MS: '2000',
    REQUEST_TIMEOUT_MS: '3000',
  };
  const check = await runCli(['check', 'jobs/orders'], { ...env, PROBE_TIMEOUT_MS: '5000' }, 90_000);
  const job = new JobProcess('secrets', 'jobs/orders', env);
  const exit = await Promise.race([job.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
  await job.kill();
  const output = `${check.stdout}\n${check.stderr}\n${job.lines.map((l) => l.raw).join('\n')}`;
  t.diagnostic(`check exit ${check.code}; job ${JSON.stringify(exit)}; ${output.length} bytes of output`);
  assert.notEqual(check.code, 0, `check must fail on the SASL login\n${check.stdout}`);
  // The broker's PLAINTEXT listener refuses the SASL handshake (before any credential is sent).
  assert.match(output, /SaslHandshake|SASL state/, 'the output shows the SASL login failing');
  assert.equal(output.split(password).length - 1, 0, 'the SASL password appears in the output');
  assert.equal(output.split(awsSecret).length - 1, 0, 'the AWS secret key appears in the output');
});
