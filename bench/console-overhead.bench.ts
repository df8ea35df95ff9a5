/**
 * Console overhead: the embedded orders job (generator → Iceberg on a local warehouse) run as
 * `node dist/run.js` with nobody looking, and with a client asking `/api/job` every POLL_MS —
 * eight times as often as the page does. PARALLELISM=1 still runs the pipeline in one subtask
 * thread, so each answer costs what it costs in parallel mode: the subtask serialises its
 * metrics on the job's thread, the coordinator sums them. Runs alternate (off, on, on, off, …)
 * so the shared machine's drift hits both arms alike. Figures: rows/s from the run's exit
 * summary, CPU time per row (GNU time: less disturbed by the other tenants than wall time), the
 * event-loop delay the run logs at exit, and how long `/api/job` took as the client saw it.
 * Sizes: CONSOLE_BENCH_RECORDS (default 1,000,000), CONSOLE_BENCH_PAIRS (default 3).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './bench-entry.js';
import { freePort } from '../test/integration/operations/support/job-harness.js';

const RECORDS = Number(process.env.CONSOLE_BENCH_RECORDS ?? 1_000_000);
const PAIRS = Number(process.env.CONSOLE_BENCH_PAIRS ?? 3);
const POLL_MS = 250;
const RUN_TIMEOUT_MS = 180_000;
const RUN_JS = fileURLToPath(new URL('../src/run.js', import.meta.url));
/** GNU time reports the run's CPU time, which the other tenants of a shared machine disturb less than its wall time. */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface RunFigures {
  readonly rowsCommitted: number;
  readonly rowsPerSecond: number;
  /** CPU seconds (user + system, every thread) per 1,000 rows; undefined without GNU time. */
  readonly cpuMsPerThousandRows: number | undefined;
  readonly loopP99Ms: number;
  /** Client-side durations of the /api/job answers (empty when not polled). */
  readonly apiMs: readonly number[];
}

/** One bounded run of the embedded job; `poll` asks /api/job every POLL_MS while it runs. */
async function run(poll: boolean): Promise<RunFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-console-'));
  const port = await freePort();
  const timeFile = join(dir, 'time.txt');
  const command = [process.execPath, RUN_JS, 'jobs/orders', '--generator-count', String(RECORDS)];
  if (GNU_TIME !== undefined) command.unshift(GNU_TIME, '-o', timeFile, '-f', '%U %S');
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, PARALLELISM: '1', METRICS_PORT: String(port), STREAMLINE_WORK_DIR: dir, LOG_FORMAT: 'json', STATUS_INTERVAL_MS: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const apiMs: number[] = [];
  let running = true;
  const poller = (async () => {
    while (poll && running) {
      const started = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/job`, { signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        if (res.status === 200) apiMs.push(performance.now() - started);
      } catch {
        // not listening yet, or already gone
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  const code = await exited;
  running = false;
  clearTimeout(killer);
  await poller;
  const cpuSeconds = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').reduce((n, x) => n + Number(x), 0) : undefined;
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`run exited with ${code}:\n${stderr.slice(-2000)}`);

  let summary: { rowsCommitted: number; runtimeMs: number } | undefined;
  let loopP99Ms: number | undefined;
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { summary?: { rowsCommitted: number; runtimeMs: number }; eventLoopDelayMs?: { p99: number } };
    if (entry.summary) summary = entry.summary;
    if (entry.eventLoopDelayMs) loopP99Ms = entry.eventLoopDelayMs.p99;
  }
  if (summary === undefined || loopP99Ms === undefined) throw new Error(`no exit summary or loop delay in the run's log:\n${stderr.slice(-2000)}`);
  // the generator is seeded and repeats some orders (dedup drops them): the same rows every run
  if (summary.rowsCommitted === 0) throw new Error(`the run committed no rows:\n${stderr.slice(-2000)}`);
  return {
    rowsCommitted: summary.rowsCommitted,
    rowsPerSecond: summary.rowsCommitted / (summary.runtimeMs / 1000),
    cpuMsPerThousandRows: cpuSeconds === undefined || Number.isNaN(cpuSeconds) ? undefined : (cpuSeconds * 1000) / (summary.rowsCommitted / 1000),
    loopP99Ms,
    apiMs,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

const bench: Bench = async () => {
  const off: RunFigures[] = [];
  const on: RunFigures[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    // off, on, on, off, …: neither arm always goes first
    const order = pair % 2 === 0 ? [false, true] : [true, false];
    for (const poll of order) {
      const figures = await run(poll);
      (poll ? on : off).push(figures);
      process.stderr.write(`  console ${poll ? 'polled' : 'idle  '}: ${round(figures.rowsPerSecond).toLocaleString('en-US')} rows/s, ${figures.cpuMsPerThousandRows === undefined ? '?' : round(figures.cpuMsPerThousandRows, 2)} CPU ms per 1k rows, loop p99 ${figures.loopP99Ms} ms\n`);
    }
  }
  const committed = new Set([...off, ...on].map((f) => f.rowsCommitted));
  if (committed.size !== 1) throw new Error(`runs committed different row counts: ${[...committed].join(', ')}`);
  const offRate = median(off.map((f) => f.rowsPerSecond));
  const onRate = median(on.map((f) => f.rowsPerSecond));
  const apiMs = on.flatMap((f) => f.apiMs);
  const cpu = (runs: RunFigures[]) => (runs.every((f) => f.cpuMsPerThousandRows !== undefined) ? round(median(runs.map((f) => f.cpuMsPerThousandRows!)), 2) : 'no /usr/bin/time');
  return [
    {
      name: `console overhead: embedded orders job (${RECORDS.toLocaleString('en-US')} records, PARALLELISM=1), /api/job every ${POLL_MS} ms vs not asked`,
      figures: {
        'rows/s, console idle (median)': round(offRate),
        'rows/s, console polled (median)': round(onRate),
        'ratio polled / idle': round(onRate / offRate, 3),
        'CPU ms per 1k rows, idle (median)': cpu(off),
        'CPU ms per 1k rows, polled (median)': cpu(on),
        'loop p99 ms, idle (median)': round(median(off.map((f) => f.loopP99Ms)), 1),
        'loop p99 ms, polled (median)': round(median(on.map((f) => f.loopP99Ms)), 1),
        '/api/job ms p50 (client)': round(percentile(apiMs, 50), 2),
        '/api/job ms p99 (client)': round(percentile(apiMs, 99), 2),
        '/api/job answers': apiMs.length,
        '/api/job answers over 100 ms': apiMs.filter((ms) => ms > 100).length,
      },
      note: `${PAIRS} interleaved pairs of runs; each run's rate is its exit summary's rows over its runtime`,
    },
  ];
};

export default bench;
