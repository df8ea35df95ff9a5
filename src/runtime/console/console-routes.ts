import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONSOLE_PAGE } from './console-page.js';
import type { JobOverviewSource } from './job-overview.js';

/** Answers a request it knows (true) or leaves it to the next handler (false). */
export type RouteHandler = (path: string, req: IncomingMessage, res: ServerResponse) => boolean;

/** The page may only run its own script and talk to its own origin. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

let script: Buffer | undefined;

/** The hand-written browser script, emitted beside this module by the build. */
function consoleScript(): Buffer {
  return (script ??= readFileSync(new URL('./assets/console.js', import.meta.url)));
}

/**
 * The web console on the metrics port: `/` the page, `/console.js` its script, `/api/job` the
 * job's overview as JSON (503 until the job is built). Each API request collects the metrics
 * once (the same figures `/metrics` serves) — the page asks every 2 s.
 */
export function consoleRoutes(overview: () => JobOverviewSource | undefined): RouteHandler {
  return (path, _req, res) => {
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, PAGE_HEADERS);
      res.end(CONSOLE_PAGE);
      return true;
    }
    if (path === '/console.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' });
      res.end(consoleScript());
      return true;
    }
    if (path === '/api/job') {
      const source = overview();
      if (source === undefined) {
        res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end('{"error":"the job is starting"}\n');
        return true;
      }
      source.sample().then(
        (document) => {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify(document));
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
        },
      );
      return true;
    }
    return false;
  };
}
