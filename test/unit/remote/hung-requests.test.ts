import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DependencyUnavailableError, failedDependency } from '../../../src/errors.js';
import { checkpointStoreFromUri } from '../../../src/runtime/checkpoint/checkpoint-store-from-uri.js';
import { haStoreFromConfig } from '../../../src/runtime/ha/ha-store-from-config.js';
import { LeaseKeeper } from '../../../src/runtime/ha/lease-keeper.js';

/**
 * A blackhole: accepts every connection and never answers a byte, as a wedged endpoint or a
 * dropped response would. Every AWS call pointed at it must fail within its timeouts and retry
 * deadline, never hang.
 */
describe('calls to an endpoint that accepts and never answers time out', () => {
  let server: Server;
  let endpoint: string;
  let connections = 0;
  const sockets = new Set<Socket>();
  const env = (): NodeJS.ProcessEnv => ({
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    CONNECT_TIMEOUT_MS: '300',
    REQUEST_TIMEOUT_MS: '400',
    SOCKET_IDLE_TIMEOUT_MS: '400',
    RETRY_DEADLINE_MS: '1200',
    RETRY_BASE_DELAY_MS: '20',
    RETRY_MAX_DELAY_MS: '100',
    DYNAMODB_TABLE: 'hung-ha',
  });

  before(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });

  it('an S3 checkpoint write fails with S3 unavailable within the retry deadline, after retries', async () => {
    const store = checkpointStoreFromUri('s3://hung-bucket/checkpoints', { env: env() });
    const before = connections;
    const started = performance.now();
    const error = await store.writeState('hung-job', 1, 'op.state', new Uint8Array(1024)).then(
      () => assert.fail('a write to a blackhole succeeded'),
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    assert.equal(failedDependency(error), 'S3', `got ${String(error)}`);
    // Deadline 1.2 s + one attempt of at most ~0.4 s + backoff; generous for a loaded machine, far from "for ever".
    assert.ok(elapsed >= 1_000 && elapsed < 8_000, `failed after ${Math.round(elapsed)} ms`);
    assert.ok(connections - before >= 2, `${connections - before} attempts reached the endpoint`);
  });

  it('a DynamoDB lease renewal fails in time, and a stop cancels it at once', async () => {
    const ha = haStoreFromConfig({ localDir: '/nonexistent', env: env() });
    const lease = { jobName: 'hung-job', owner: 'me', fencingToken: 1n, expiresAt: Date.now() + 10_000 };
    const started = performance.now();
    const error = await ha.renew(lease, 10_000).then(
      () => assert.fail('a renewal against a blackhole succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DependencyUnavailableError && error.dependency === 'DynamoDB', `got ${String(error)}`);
    assert.ok(performance.now() - started < 8_000, `failed after ${Math.round(performance.now() - started)} ms`);

    const stop = new AbortController();
    const cancelled = performance.now();
    const renewing = ha.renew(lease, 10_000, { signal: stop.signal }).then(
      () => 'renewed',
      () => 'rejected',
    );
    setTimeout(() => stop.abort(new Error('stopping')), 100);
    assert.equal(await renewing, 'rejected');
    assert.ok(performance.now() - cancelled < 1_000, `a cancelled renewal took ${Math.round(performance.now() - cancelled)} ms`);
    await ha.close();
  });

  it('stopping and releasing a lease keeper whose renewal hangs returns within the renewal interval', async () => {
    // Requests that would hang for a minute: only the keeper's own bounds can end them.
    const ha = haStoreFromConfig({ localDir: '/nonexistent', env: { ...env(), REQUEST_TIMEOUT_MS: '60000', SOCKET_IDLE_TIMEOUT_MS: '60000', RETRY_DEADLINE_MS: '60000' } });
    const lease = { jobName: 'hung-keeper', owner: 'me', fencingToken: 1n, expiresAt: Date.now() + 30_000 };
    let lost = false;
    const keeper = new LeaseKeeper({ store: ha, lease, ttlMs: 30_000, renewIntervalMs: 300, attemptTimeoutMs: 60_000, onLost: () => (lost = true) }).start();
    const reached = connections;
    const deadline = Date.now() + 10_000;
    while (connections === reached && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(connections > reached, 'a renewal reached the endpoint');
    const started = performance.now();
    const released = await keeper.release().then(
      () => 'released',
      (e: unknown) => String(e),
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1_500, `stop and release took ${Math.round(elapsed)} ms with a hung renewal (interval 300 ms)`);
    assert.match(released, /releasing the lease got no answer within 300 ms/);
    assert.equal(lost, false);
    await ha.close();
  });
});
