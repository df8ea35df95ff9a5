import type { JobOverview, JobOverviewSource } from '../runtime/console/job-overview.js';
import type { Logger } from '../runtime/logger.js';
import type { TerminalWriter } from '../runtime/terminal/terminal-writer.js';
import type { Clock, Timer } from '../runtime/time/clock.js';

/** What the status line says: rates between two overviews, the rest as of the newer one. */
export interface JobStatus {
  readonly job: string;
  readonly phase: string;
  /** Records the sources read per second (Kafka: messages, dead letters included); undefined before a second sample. */
  readonly readPerSecond: number | undefined;
  /** Records the sinks took per second. */
  readonly writtenPerSecond: number | undefined;
  /** Kafka records not read yet, over the partitions this instance owns; undefined without Kafka. */
  readonly lag: number | undefined;
  readonly lastCheckpoint: { readonly id: number; readonly ageMs: number; readonly durationMs: number | undefined } | undefined;
  readonly failedCheckpoints: number;
  readonly rowsCommitted: number;
  readonly deadLetters: number;
}

export function jobStatus(now: JobOverview, before: JobOverview | undefined): JobStatus {
  const seconds = before === undefined ? 0 : (now.sampledAt - before.sampledAt) / 1000;
  const total = (overview: JobOverview, pick: (s: JobOverview['steps'][number]) => number | null | undefined) => overview.steps.reduce((n, s) => n + (pick(s) ?? 0), 0);
  const perSecond = (pick: (s: JobOverview['steps'][number]) => number | null | undefined) =>
    before === undefined || !(seconds > 0) ? undefined : Math.max(0, total(now, pick) - total(before, pick)) / seconds;
  const read = (s: JobOverview['steps'][number]) => (s.kind === 'source' ? (s.recordsIn ?? s.recordsOut) : 0);
  const written = (s: JobOverview['steps'][number]) => (s.kind === 'sink' ? s.recordsIn : 0);
  const last = [...now.checkpoints.history].reverse().find((c) => c.status === 'completed');
  return {
    job: now.job,
    phase: now.phase,
    readPerSecond: perSecond(read),
    writtenPerSecond: perSecond(written),
    lag: now.kafka.partitions.length === 0 ? undefined : now.kafka.partitions.reduce((n, p) => n + p.lag, 0),
    lastCheckpoint: last === undefined ? undefined : { id: last.id, ageMs: Math.max(0, now.sampledAt - (last.completedAt ?? now.sampledAt)), durationMs: last.durationMs },
    failedCheckpoints: now.checkpoints.failed,
    rowsCommitted: now.steps.reduce((n, s) => n + (s.sink?.rowsCommitted ?? 0), 0),
    deadLetters: now.deadLetters.total,
  };
}

/** One line: `orders running · read 12,345/s · wrote 12,300/s · lag 1,203 · checkpoint #14 3 s ago · 1,234,567 rows committed · 12 dead letters`. */
export function formatStatus(status: JobStatus): string {
  const parts = [`${status.job} ${status.phase}`];
  parts.push(`read ${formatRate(status.readPerSecond)}/s`, `wrote ${formatRate(status.writtenPerSecond)}/s`);
  if (status.lag !== undefined) parts.push(`lag ${formatCount(status.lag)}`);
  const last = status.lastCheckpoint;
  parts.push(last === undefined ? 'no checkpoint yet' : `checkpoint #${last.id} ${formatAge(last.ageMs)} ago${last.durationMs === undefined ? '' : ` (${formatAge(last.durationMs)})`}`);
  if (status.failedCheckpoints > 0) parts.push(`${formatCount(status.failedCheckpoints)} failed`);
  parts.push(`${formatCount(status.rowsCommitted)} rows committed`, `${formatCount(status.deadLetters)} dead letters`);
  return parts.join(' · ');
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatRate(n: number | undefined): string {
  if (n === undefined) return '…';
  return n >= 100 ? formatCount(n) : n.toFixed(1);
}

/** `850 ms`, `3.2 s`, `4 min 5 s`. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  return s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** How the status line is shown. */
export interface StatusLineOptions {
  readonly source: JobOverviewSource;
  readonly terminal: TerminalWriter;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Between status log lines, ms (0 = none). On a terminal with pretty logs the line is shown in place and redrawn every second instead. */
  readonly intervalMs: number;
  /** Whether the log is for people (pretty); only then is the status drawn in place. */
  readonly pretty: boolean;
}

/** The redraw period of the in-place status line. */
const IN_PLACE_MS = 1_000;

/**
 * The periodic status of a running job: drawn in place below the log on a terminal (pretty
 * logs), else logged as a `status` line every `intervalMs` (with its figures as fields, for
 * JSON logs). Samples never overlap: a slow one makes the next wait.
 */
export class StatusLine {
  private timer: Timer | undefined;
  private previous: JobOverview | undefined;
  private sampling = false;
  private readonly inPlace: boolean;

  constructor(private readonly options: StatusLineOptions) {
    this.inPlace = options.pretty && options.terminal.isTTY;
  }

  start(): this {
    const period = this.inPlace ? IN_PLACE_MS : this.options.intervalMs;
    if (period <= 0 || this.timer !== undefined) return this;
    if (!this.inPlace) void this.sample(false); // the first figures, so the next line has rates
    this.timer = this.options.clock.setInterval(() => void this.sample(true), period);
    return this;
  }

  /** Stops and removes the in-place line. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.inPlace) this.options.terminal.setStatus(undefined);
  }

  private async sample(show: boolean): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const overview = await this.options.source.sample();
      const status = jobStatus(overview, this.previous);
      this.previous = overview;
      if (!show || this.timer === undefined) return;
      const line = formatStatus(status);
      if (this.inPlace) this.options.terminal.setStatus(this.options.terminal.colors ? `\x1b[2m${line}\x1b[0m` : line);
      else this.options.logger.info({ status }, `status: ${line}`);
    } catch (error) {
      this.options.logger.debug({ err: (error as Error).message }, 'status line: sampling failed');
    } finally {
      this.sampling = false;
    }
  }
}
