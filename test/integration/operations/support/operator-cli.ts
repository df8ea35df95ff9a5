/**
 * Runs the CLI (`run.js <job>`, `run.js check <job>`, `run.js inspect <job>`) as an operator
 * would, with exactly the environment given (plus PATH), and collects what it printed.
 */
import { spawn } from 'node:child_process';
import type { ServiceEndpoints } from '../../../helpers/services.js';
import { RUN_JS } from './job-harness.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export function runCli(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 180_000): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** The AWS settings that point the CLI at moto (never at AWS). */
export function motoEnv(endpoints: ServiceEndpoints): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoints.awsEndpoint,
    AWS_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** The line of `check` output about `item` (its ✓/✗/– line), or undefined. */
export function checkLine(stdout: string, item: string): string | undefined {
  return stdout.split('\n').find((line) => /^[✓✗–] /.test(line) && line.slice(2).startsWith(`${item}:`));
}
