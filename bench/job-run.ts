/**
 * One end-to-end run of `node dist/run.js <args>` as a user runs it, measured from process start:
 * wall time to exit, CPU seconds and peak RSS of the whole process (every thread) from GNU time,
 * and what the job logged (pino JSON on stderr) — commits, checkpoints, event-loop delay.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './services-python.js';

export const GNU_TIME = '/usr/bin/time';

/** A checkpoint as the job logged it on completion. */
export interface LoggedCheckpoint {
  readonly id: number;
  /** Epoch ms when it started (completion time minus its duration). */
  readonly startedAt: number;
  readonly ms: number;
  readonly syncMs: number;
  readonly writtenBytes: number;
  readonly fullBytes: number;
}

export interface JobRun {
  readonly exitCode: number | null;
  /** Epoch ms just before spawn. */
  readonly spawnedAt: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  /** Seconds from spawn to the last Iceberg commit logged; undefined without one. */
  readonly lastCommitSeconds: number | undefined;
  /** Rows of every logged Iceberg commit. */
  readonly committedRows: number;
  readonly checkpoints: readonly LoggedCheckpoint[];
  /** The run's event-loop delay p99 in ms, as it logged it at exit. */
  readonly loopDelayP99Ms: number | undefined;
  /** Epoch ms of the 'restored' log line, when the run restored a checkpoint. */
  readonly restoredAt: number | undefined;
  /** The error a failed run logged last, for the table. */
  readonly failure: string | undefined;
}

/** Runs the job under GNU time; SIGTERM after `stopAfterMs` when given; SIGKILL after `timeoutMs`. */
export async function runJob(args: readonly string[], env: NodeJS.ProcessEnv, options: { stopAfterMs?: number; timeoutMs?: number } = {}): Promise<JobRun> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing (Debian package 'time'): it measures CPU time and peak RSS of the job`);
  const dir = await mkdtemp(join(tmpdir(), 'bench-job-run-'));
  const timeFile = join(dir, 'time');
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const child = spawn(GNU_TIME, ['-f', '%U %S %M', '-o', timeFile, process.execPath, join(repoRoot(), 'dist', 'run.js'), ...args], {
    cwd: repoRoot(),
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  let tail = '';
  child.stderr.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      tail = (tail + line + '\n').slice(-8_000);
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (typeof entry.msg === 'string' && KEPT.test(entry.msg)) lines.push(entry);
        else if (typeof entry.level === 'number' && entry.level >= 50) lines.push(entry);
      } catch {
        // not a log line
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = options.stopAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), options.stopAfterMs);
  const kill = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 900_000);
  const exitCode = await exited;
  const wallSeconds = (performance.now() - t0) / 1000;
  if (stop) clearTimeout(stop);
  clearTimeout(kill);
  const [user, system, maxRssKb] = (await readFile(timeFile, 'utf8').catch(() => '0 0 0')).trim().split('\n').at(-1)!.split(' ').map(Number);
  await rm(dir, { recursive: true, force: true });

  const commits = lines.filter((l) => l.msg === 'committed Iceberg snapshot');
  const checkpoints = lines
    .filter((l) => l.msg === 'checkpoint complete')
    .map((l) => ({
      id: Number(l.checkpoint),
      startedAt: Number(l.time) - Number(l.ms),
      ms: Number(l.ms),
      syncMs: Number(l.syncMs ?? 0),
      writtenBytes: Number(l.writtenBytes ?? 0),
      fullBytes: Number(l.fullBytes ?? 0),
    }));
  const delay = lines.find((l) => l.msg === 'event loop delay over the run')?.eventLoopDelayMs as { p99?: number } | undefined;
  const errorLine = [...lines].reverse().find((l) => Number(l.level) >= 50);
  const err = errorLine?.err as { type?: string; message?: string } | undefined;
  return {
    exitCode,
    spawnedAt,
    wallSeconds,
    cpuSeconds: (user ?? 0) + (system ?? 0),
    peakRssBytes: (maxRssKb ?? 0) * 1024,
    lastCommitSeconds: commits.length === 0 ? undefined : (Math.max(...commits.map((c) => Number(c.time))) - spawnedAt) / 1000,
    committedRows: commits.reduce((n, c) => n + Number(c.rows ?? 0), 0),
    checkpoints,
    loopDelayP99Ms: delay?.p99,
    restoredAt: lines.find((l) => l.msg === 'restored') === undefined ? undefined : Number(lines.find((l) => l.msg === 'restored')!.time),
    failure: exitCode === 0 ? undefined : err ? `${err.type ?? 'error'}: ${(err.message ?? '').slice(0, 200)}` : tail.trim().split('\n').at(-1)?.slice(0, 200),
  };
}

const KEPT = /^(committed Iceberg snapshot|checkpoint complete|event loop delay over the run|restored|job finished)$/;

/** Median, min and max of a list of numbers. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

/** "median (min–max)" with `digits` decimals. */
export function formatSpread(values: readonly number[], digits = 0): string {
  if (values.length === 0) return 'n/a';
  const { median, min, max } = spread(values);
  const f = (v: number) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return values.length === 1 ? f(median) : `${f(median)} (${f(min)}–${f(max)})`;
}

/** The p-th percentile (nearest rank) of a list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * How far each checkpoint started from its schedule, as a fraction of the interval. The interval
 * runs from the previous checkpoint's completion (as Flink's with a minimum pause), so the delay
 * is the gap from that completion to this start, against the interval. The final checkpoint of a
 * bounded run (taken when the input ends, not on schedule) is left out.
 */
export function checkpointStartJitter(checkpoints: readonly LoggedCheckpoint[], intervalMs: number, bounded: boolean): number[] {
  const scheduled = bounded ? checkpoints.slice(0, -1) : checkpoints;
  const jitter: number[] = [];
  for (let i = 1; i < scheduled.length; i++) jitter.push(Math.abs(scheduled[i]!.startedAt - (scheduled[i - 1]!.startedAt + scheduled[i - 1]!.ms) - intervalMs) / intervalMs);
  return jitter;
}

/** Rotates `items` by `round`, so that across rounds every variant runs in every position (A B, B A, ...). */
export function interleaved<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
