import { createServer, type Server } from 'node:http';
import type { MetricsRegistry } from './metrics-registry.js';

/** Health as the HTTP endpoints report it. */
export interface HealthSource {
  /** Process is up and its event loop answers (`/healthz`). */
  alive(): boolean;
  /** Restored and consuming (`/readyz`); false while standby or stopping. */
  ready(): boolean;
}

/**
 * Serves `/metrics` (Prometheus text format), `/healthz` and `/readyz` on 127.0.0.1 or all
 * interfaces. Port 9249 by default, as Flink's Prometheus reporter.
 */
export async function startMetricsServer(metrics: MetricsRegistry, health: HealthSource, port: number, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        });
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' ? health.alive() : health.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return server;
}
