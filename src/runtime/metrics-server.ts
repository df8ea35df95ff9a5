import { createServer, type Server } from 'node:http';
import type { RouteHandler } from './console/console-routes.js';
import type { MetricsRegistry } from './metrics-registry.js';

/** Health as the HTTP endpoints report it. */
export interface HealthSource {
  /** Process is up and its event loop answers (`/healthz`). */
  alive(): boolean;
  /** Not standby and not stopping; `/readyz` also requires `streamline_job_ready` (restored and consuming). */
  ready(): boolean;
  /** Why a running job is not ready although it runs (e.g. checkpoints stopped completing), if so. */
  notReadyReason?(): Promise<string | undefined>;
}

/**
 * Serves `/metrics` (Prometheus text format), `/healthz` and `/readyz` on 127.0.0.1 or all
 * interfaces, and whatever `routes` answers (the web console). Port 9249 by default, as Flink's Prometheus reporter. `/readyz` answers 200 only
 * when the process says so and the runner has set `streamline_job_ready` (set after the restore,
 * when sources start; cleared when the run ends), so a process that is still restoring is not ready,
 * and `notReadyReason` names no reason (checkpoint age: see CheckpointAgeReadiness).
 * Port 0 picks a free port: read it from `server.address()`.
 */
export async function startMetricsServer(metrics: MetricsRegistry, health: HealthSource, port: number, host = '0.0.0.0', routes?: RouteHandler): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/metrics') {
      metrics
        .render()
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
    if (path === '/healthz') {
      const ok = health.alive();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not alive\n');
      return;
    }
    if (path === '/readyz') {
      const answer = (ok: boolean, reason?: string) => {
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ok ? 'ready\n' : `not ready${reason ? `: ${reason}` : ''}\n`);
      };
      if (!health.ready()) return answer(false);
      Promise.all([metrics.anyJobReady(), health.notReadyReason?.()]).then(
        ([running, reason]) => answer(running && reason === undefined, reason),
        () => answer(false),
      );
      return;
    }
    if (routes?.(path, req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`not found: try ${routes ? '/ (the console), ' : ''}/metrics, /healthz or /readyz\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return server;
}
