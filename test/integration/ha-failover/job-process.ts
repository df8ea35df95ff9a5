/**
 * A real `node dist/run.js <job>` child process for the failover tests: its JSON log lines are
 * collected and can be awaited, it can be SIGKILLed / SIGSTOPped / SIGCONTed, and every process
 * started here is killed when the test process ends — even when a test fails half way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One parsed log line (pino JSON); `raw` keeps the text of lines that are not JSON. */
export interface LogLine {
  readonly msg?: string;
  readonly level?: number;
  readonly raw: string;
  readonly [field: string]: unknown;
}

/** How a child ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/** The repository root (the folder holding package.json), from any build folder. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The CLI the tests run: STREAMLINE_RUN_JS, else `<repo>/dist/run.js` (build it with `npm run build`). */
export function runJsPath(): string {
  const path = process.env.STREAMLINE_RUN_JS ?? join(repoRoot(), 'dist', 'run.js');
  if (!existsSync(path)) throw new Error(`${path} does not exist; build it first with 'npx tsc -p tsconfig.json'`);
  return path;
}

/** The compiled test job `test/fixtures/jobs/<name>.js`, next to this file's build folder. */
export function fixtureJobPath(name: string): string {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'jobs', `${name}.js`);
  if (!existsSync(path)) throw new Error(`fixture job ${path} is missing; compile tsconfig.test.json`);
  return path;
}

/** A free TCP port on 127.0.0.1 (for METRICS_PORT). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A running job process. */
export class JobProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private exit: ProcessExit | undefined;

  /** Starts `node <run.js> <jobPath> ...args` with `env` added to this process's environment. */
  constructor(
    readonly label: string,
    jobPath: string,
    env: Record<string, string>,
    args: readonly string[] = [],
  ) {
    this.child = spawn(process.execPath, [runJsPath(), jobPath, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    alive.add(this.child);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        for (const part of parts) if (part.trim() !== '') this.push(part);
      });
      stream.on('end', () => {
        if (rest.trim() !== '') this.push(rest);
        rest = '';
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        alive.delete(this.child);
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The exit, once the process ended. */
  get exitStatus(): ProcessExit | undefined {
    return this.exit;
  }

  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, SIGTERM) to this process only. */
  signal(signal: NodeJS.Signals): void {
    if (this.exit === undefined) this.child.kill(signal);
  }

  /** Kills the process (after SIGCONT, in case it is stopped) and waits until it is gone. */
  async kill(): Promise<ProcessExit> {
    if (this.exit === undefined) {
      this.child.kill('SIGKILL');
      this.child.kill('SIGCONT');
    }
    return this.exited;
  }

  /** Lines whose `msg` contains `text`. */
  logged(text: string): LogLine[] {
    return this.lines.filter((l) => typeof l.msg === 'string' && l.msg.includes(text));
  }

  /**
   * Resolves with the first line (already logged or to come) that matches; rejects after
   * `timeoutMs` or when the process exits first, quoting the log tail.
   */
  async waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.lines.length; seen++) if (match(this.lines[seen]!)) return this.lines[seen]!;
      if (this.exit !== undefined) throw new Error(`${this.label} exited (${JSON.stringify(this.exit)}) before: ${what}\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for: ${what}\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** Waits for a log line whose `msg` contains `text`. */
  waitForMsg(text: string, timeoutMs: number, where: (line: LogLine) => boolean = () => true): Promise<LogLine> {
    return this.waitFor((l) => typeof l.msg === 'string' && l.msg.includes(text) && where(l), `log '${text}'`, timeoutMs);
  }

  /** Waits for the exit; kills the process and rejects when it takes longer than `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ProcessExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} did not exit within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } catch (error) {
      await this.kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last lines of the log, for failure messages. */
  tail(lines = 25): string {
    return this.lines
      .slice(-lines)
      .map((l) => `  [${this.label}] ${l.raw}`)
      .join('\n');
  }

  private push(raw: string): void {
    let line: LogLine;
    try {
      const parsed = JSON.parse(raw) as Record<string, unknown>;
      line = { ...parsed, raw } as LogLine;
    } catch {
      line = { raw };
    }
    this.lines.push(line);
    this.notify();
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}

/** Kills every given process that is still running (test cleanup). */
export async function killAll(processes: Iterable<JobProcess | undefined>): Promise<void> {
  await Promise.all([...processes].filter((p): p is JobProcess => p !== undefined).map((p) => p.kill()));
}

/** Fetches `http://127.0.0.1:<port><path>`; undefined when nothing answers. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1500) });
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

/** Sum of a Prometheus counter's samples in a /metrics body, over the label sets that contain `labelFilter` (e.g. `kind="iceberg"`). */
export function metricTotal(body: string, name: string, labelFilter = ''): number {
  let total = 0;
  for (const line of body.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labelFilter)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
