/**
 * A private moto server that handles one request at a time, for the tests that race writers.
 *
 * Why: `moto_server` serves requests on several threads and evaluates a conditional write
 * (DynamoDB ConditionExpression, S3 If-None-Match) and applies it without a lock, so two racing
 * requests can both pass the check — measured: 3 of 30 lease races had 2-3 winners. Real S3 and
 * DynamoDB apply conditional writes atomically. Serving requests one at a time restores that
 * atomicity, so a race test fails only when *our* logic is wrong.
 * Uses the moto installed by `npm run services:up` (.services/venv), on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LAUNCHER = `
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
`;

/** A running single-threaded moto; `stop()` ends the process this module started. */
export interface SingleThreadedMoto {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts moto (from the services venv, else STREAMLINE_PYTHON / python3) on a free 127.0.0.1 port. */
export async function startSingleThreadedMoto(): Promise<SingleThreadedMoto> {
  const port = await freePort();
  const child = spawn(pythonWithMoto(), ['-c', LAUNCHER, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`single-threaded moto did not start on ${endpoint}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoint, stop: () => stopChild(child) };
}

function pythonWithMoto(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const venvPython = join(dir, '.services', 'venv', 'bin', 'python');
    if (existsSync(join(dir, '.services', 'venv', 'bin', 'moto_server'))) return venvPython;
    const parent = dirname(dir);
    if (parent === dir) return process.env.STREAMLINE_PYTHON ?? 'python3';
    dir = parent;
  }
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
