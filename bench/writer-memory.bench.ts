/**
 * Peak memory with 128 MiB and 512 MiB target file sizes: the DataFileWriter alone on 2 M orders
 * rows (bench/write-orders-rows.ts), and the embedded orders job (`node dist/run.js jobs/orders`)
 * bounded to 2 M generated records and unbounded for 90 s (then SIGTERM: final checkpoint and
 * commit). Peak RSS is the process's VmHWM from /proc (all threads, the Parquet workers too); the
 * job's own share of it is streamline_sink_buffered_bytes, scraped from /metrics. The job's keyed
 * dedup state grows with every order id and dominates its RSS (a separate issue).
 *
 * Kafka backlog (1 M orders waiting in the topic, the job in bounded Kafka mode): add it to
 * `jobScenarios` once bounded Kafka mode exists, with KAFKA_BROKERS pointing at the test broker.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchEntry } from './bench-entry.js';
import { repoRoot } from './services-python.js';

const MiB = 1024 * 1024;
const TARGETS = [128 * MiB, 512 * MiB];
const ROWS = 2_000_000;
const UNBOUNDED_MS = 90_000;

interface Measured {
  readonly peakRss: number;
  /** Highest streamline_sink_buffered_bytes scraped (jobs only). */
  readonly maxBuffered: number | undefined;
  /** Last streamline_sink_rows_total scraped (jobs only). */
  readonly rowsWritten: number | undefined;
  readonly seconds: number;
  readonly stdout: string;
  readonly exitCode: number | null;
  /** The end of stderr, to say why a run failed. */
  readonly stderrTail: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function vmHwm(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status === undefined ? undefined : /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** Sum of a metric's samples over its label sets, or undefined when absent. */
function metric(text: string, name: string): number | undefined {
  const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))].map((m) => Number(m[1]));
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}

/** Runs `node <args>`, polling its peak RSS (and /metrics when `metricsPort` is given); SIGTERM after `stopAfterMs`. */
async function measure(args: readonly string[], env: NodeJS.ProcessEnv, options: { metricsPort?: number; stopAfterMs?: number } = {}): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: repoRoot(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let peakRss = 0;
  let maxBuffered: number | undefined;
  let rowsWritten: number | undefined;
  const poll = setInterval(() => {
    void vmHwm(child.pid!).then((hwm) => (peakRss = Math.max(peakRss, hwm ?? 0)));
    if (options.metricsPort === undefined) return;
    void fetch(`http://127.0.0.1:${options.metricsPort}/metrics`, { signal: AbortSignal.timeout(400) })
      .then((r) => r.text())
      .then((text) => {
        const buffered = metric(text, 'streamline_sink_buffered_bytes');
        if (buffered !== undefined) maxBuffered = Math.max(maxBuffered ?? 0, buffered);
        rowsWritten = metric(text, 'streamline_sink_rows_total') ?? rowsWritten;
      })
      .catch(() => undefined);
  }, 100);
  const stop = options.stopAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), options.stopAfterMs);
  const code = await exited;
  clearInterval(poll);
  if (stop) clearTimeout(stop);
  return { peakRss, maxBuffered, rowsWritten, seconds: (performance.now() - t0) / 1000, stdout, exitCode: code, stderrTail: stderr };
}

/** The error a failed run logged last (pino JSON: its err.type and message), for the table. */
function failureOf(stderrTail: string): string {
  const match = /"type":"([^"]+)","message":"([^"]{0,160})/.exec(stderrTail.slice(stderrTail.lastIndexOf('"err":')));
  return match ? `${match[1]}: ${match[2]}` : stderrTail.trim().split('\n').at(-1)?.slice(0, 160) ?? '';
}

const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : Math.round(bytes / MiB));

async function writerAlone(target: number): Promise<Record<string, number | string>> {
  const script = join(repoRoot(), 'build', 'bench', 'write-orders-rows.js');
  const m = await measure([script, '--rows', String(ROWS), '--target', String(target), '--flush-every', '1000000'], {});
  if (m.exitCode !== 0) throw new Error(`write-orders-rows exited with ${m.exitCode}: ${m.stderrTail}`);
  const result = JSON.parse(m.stdout.trim()) as { maxBufferedBytes: number; seconds: number; bytes: number };
  const t = `${target / MiB} MiB`;
  return {
    [`peak RSS MiB, target ${t}`]: mib(m.peakRss),
    [`max buffered MiB, target ${t}`]: mib(result.maxBufferedBytes),
    [`rows/s, target ${t}`]: Math.round(ROWS / result.seconds),
  };
}

async function job(target: number, bounded: boolean): Promise<Record<string, number | string>> {
  const workDir = await mkdtemp(join(tmpdir(), 'orders-job-memory-'));
  try {
    const port = await freePort();
    const args = [join(repoRoot(), 'dist', 'run.js'), 'jobs/orders', '--work-dir', workDir, '--metrics-port', String(port), '--log-level', 'warn'];
    if (bounded) args.push('--generator-count', String(ROWS));
    // Snapshots of a large dedup state block the event loop for seconds (a separate issue): a lease
    // that expires meanwhile, or a stop timeout, would end the run early and measure that instead.
    const env = { TARGET_FILE_SIZE_BYTES: String(target), STOP_TIMEOUT_MS: '600000', LEASE_TTL_MS: '600000' };
    const m = await measure(args, env, { metricsPort: port, ...(bounded ? {} : { stopAfterMs: UNBOUNDED_MS }) });
    const t = `${target / MiB} MiB`;
    return {
      ...(m.exitCode === 0 ? {} : { [`exit code, target ${t}`]: `${m.exitCode} (${failureOf(m.stderrTail)})` }),
      [`peak RSS MiB, target ${t}`]: mib(m.peakRss),
      [`max sink buffered MiB, target ${t}`]: mib(m.maxBuffered),
      [`${bounded ? 'seconds' : 'rows committed'}, target ${t}`]: bounded ? Number(m.seconds.toFixed(1)) : (m.rowsWritten ?? 'n/a'),
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

const bench: Bench = async () => {
  if (!existsSync('/proc/self/status')) return [{ name: 'writer memory', figures: {}, note: 'not run: peak RSS is read from /proc (Linux only)' }];
  const alone: Record<string, number | string> = {};
  const bounded: Record<string, number | string> = {};
  const unbounded: Record<string, number | string> = {};
  for (const target of TARGETS) {
    Object.assign(alone, await writerAlone(target));
    Object.assign(bounded, await job(target, true));
    Object.assign(unbounded, await job(target, false));
  }
  const entries: BenchEntry[] = [
    {
      name: 'memory: DataFileWriter alone, 2 M orders rows partitioned by day, a flush every 1 M rows',
      figures: alone,
      note: 'default 64 MiB write buffer; peak RSS of the whole process (VmHWM: main thread, Parquet worker, row generation)',
    },
    { name: 'memory: orders job, embedded, --generator-count 2000000', figures: bounded, note: 'generator → dedup (keyed state of every order id) → Iceberg, checkpoints every 10 s' },
    { name: `memory: orders job, embedded, unbounded for ${UNBOUNDED_MS / 1000} s then SIGTERM`, figures: unbounded, note: 'includes the final checkpoint and commit' },
  ];
  return entries;
};

export default bench;
