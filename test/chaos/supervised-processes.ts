/**
 * What every chaos supervisor (one active process with standbys, or a group of instances) does
 * with the job processes it starts: spawns them through the CLI, samples their peak RSS (VmHWM),
 * writes each one's log when it ends, times each (re)start or takeover to that process's first
 * completed checkpoint, and sorts every exit into caused by a fault, excused (the expected end of
 * a too-long broker outage, broker-outage-exits.ts) or unexpected. What to do about an exit
 * nobody caused is the subclass's policy.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobProcess, type ProcessExit } from '../integration/ha-failover/job-process.js';

/** One job process a supervisor started. */
export interface Member {
  readonly n: number;
  readonly proc: JobProcess;
  /** Why it was started: the first start, a restart after an exit, a standby, a group member joining, the final drain. */
  readonly reason: 'start' | 'restart' | 'standby' | 'join' | 'final';
  /** When it (re)started or, for a standby, when it was asked to take over (ms, performance.now()). */
  since: number;
  /** The supervisor (a fault) ended it: its exit is not an unexpected one. */
  expectExit: boolean;
  /** Set on a zombie (SIGSTOPped past its lease): it must exit non-zero once resumed. */
  zombie: boolean;
  /** Asked to leave (SIGTERM, a group member): it must exit 0. */
  leaving: boolean;
  peakRssKb: number;
  exit?: ProcessExit;
}

export interface UnexpectedExit {
  readonly process: number;
  readonly exit: ProcessExit;
  readonly tail: string;
}

/** Decides whether an exit nobody caused is still an expected one (at `exitAt`, ms, performance.now()). */
export type ExitExcuse = (exitAt: number, clean: boolean, tail: string) => boolean;

export abstract class SupervisedProcesses {
  readonly members: Member[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Exits nobody caused that `excuse` accepted (see broker-outage-exits.ts). */
  readonly excusedExits: UnexpectedExit[] = [];
  /** Restart or takeover → first completed checkpoint of the process that took over, ms (null: it ended before one). */
  readonly restartToCheckpointMs: (number | null)[] = [];
  restarts = 0;
  protected stopping = false;
  private readonly rssTimer: NodeJS.Timeout;

  constructor(
    protected readonly env: Record<string, string>,
    private readonly logDir: string,
    private readonly excuse: ExitExcuse = () => false,
  ) {
    this.rssTimer = setInterval(() => this.sampleRss(), 500);
  }

  /** A process to watch for progress and to aim faults at (the active one; in a group, a live member). */
  abstract get active(): Member | undefined;

  /** The processes still running. */
  live(): Member[] {
    return this.members.filter((m) => m.exit === undefined);
  }

  /** Kills whatever still runs and writes every process's log to the log folder. */
  async close(): Promise<void> {
    this.stopping = true;
    clearInterval(this.rssTimer);
    await Promise.all(this.members.map((m) => m.proc.kill()));
  }

  /** Every log line of every process, as written. */
  allLogText(): string {
    return this.members.map((m) => m.proc.lines.map((l) => l.raw).join('\n')).join('\n');
  }

  /** An exit no fault caused and no stop asked for (the member may be a zombie or not). */
  protected abstract onUnplannedExit(member: Member): void;

  protected spawn(reason: Member['reason'], extra: Record<string, string> = {}): Member {
    const n = this.members.length;
    const proc = new JobProcess(`job#${n}`, 'jobs/orders', { ...this.env, ...extra });
    const member: Member = { n, proc, reason, since: performance.now(), expectExit: false, zombie: false, leaving: false, peakRssKb: 0 };
    this.members.push(member);
    if (reason === 'restart' || reason === 'join') this.watchFirstCheckpoint(member);
    void proc.exited.then((exit) => this.exited(member, exit));
    return member;
  }

  protected watchFirstCheckpoint(member: Member): void {
    const slot = this.restartToCheckpointMs.push(null) - 1;
    const since = member.since;
    const taken = new Set(member.proc.logged('checkpoint complete'));
    member.proc
      .waitForMsg('checkpoint complete', 30 * 60_000, (line) => !taken.has(line))
      .then(() => (this.restartToCheckpointMs[slot] = Math.round(performance.now() - since)))
      .catch(() => undefined);
  }

  private exited(member: Member, exit: ProcessExit): void {
    member.exit = exit;
    writeFileSync(join(this.logDir, `job-${member.n}.log`), member.proc.lines.map((l) => l.raw).join('\n') + '\n');
    const clean = exit.code === 0 && exit.signal === null;
    // A zombie must not finish as if it still held the lease; a graceful stop, leave or drain must exit 0.
    const expected = member.zombie ? !clean : member.expectExit || ((this.stopping || member.leaving) && clean);
    if (!expected) {
      const entry = { process: member.n, exit, tail: member.proc.tail() };
      if (!member.zombie && this.excuse(performance.now(), clean, member.proc.tail(60))) this.excusedExits.push(entry);
      else this.unexpectedExits.push(entry);
    }
    if (!member.expectExit && !member.leaving && !this.stopping) this.onUnplannedExit(member);
  }

  private sampleRss(): void {
    for (const m of this.members) {
      if (m.exit !== undefined) continue;
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${m.proc.pid}/status`, 'utf8'));
        if (match) m.peakRssKb = Math.max(m.peakRssKb, Number(match[1]));
      } catch {
        // Gone between the check and the read.
      }
    }
  }
}
