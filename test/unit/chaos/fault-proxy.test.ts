import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FaultProxy } from '../../chaos/fault-proxy.js';

/** One HTTP request through the proxy with its own deadline: the answer, or how it failed. */
async function get(url: string, timeoutMs = 2_000): Promise<{ status?: number; body?: string; error?: string; ms: number }> {
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
    return { status: response.status, body: await response.text(), ms: performance.now() - started };
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? (error as Error).name, ms: performance.now() - started };
  }
}

describe('the fault proxy', () => {
  let upstream: Server;
  let proxy: FaultProxy;
  let hits = 0;

  before(async () => {
    upstream = createServer((req, res) => {
      hits++;
      res.end(`hello ${req.url}`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    proxy = await FaultProxy.start(`127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  });

  after(async () => {
    await proxy.close();
    upstream.close();
  });

  it('passes, refuses, blackholes and slows traffic, and keeps its port across modes', async () => {
    const port = proxy.port;
    assert.deepEqual(await get(`${proxy.endpoint}/a`).then((r) => [r.status, r.body]), [200, 'hello /a']);

    await proxy.set({ kind: 'refuse' });
    const refused = await get(`${proxy.endpoint}/b`);
    assert.equal(refused.error, 'ECONNREFUSED');

    await proxy.set({ kind: 'blackhole' });
    assert.equal(proxy.port, port);
    const before = hits;
    const accepted = proxy.accepted;
    const hung = await get(`${proxy.endpoint}/c`, 500);
    assert.equal(hung.error, 'TimeoutError', 'accepted, never answered');
    assert.equal(proxy.accepted, accepted + 1);
    assert.equal(hits, before, 'nothing reached the upstream');

    await proxy.set({ kind: 'slow', delayMs: 300 });
    const slow = await get(`${proxy.endpoint}/d`);
    assert.equal(slow.body, 'hello /d');
    assert.ok(slow.ms >= 550, `two delayed legs, got ${Math.round(slow.ms)} ms`);

    await proxy.set({ kind: 'pass' });
    const fast = await get(`${proxy.endpoint}/e`);
    assert.equal(fast.body, 'hello /e');
    assert.ok(fast.ms < 300, `pass is not delayed: ${Math.round(fast.ms)} ms`);
  });
});
