/**
 * Runs the orders job through the CLI as an orchestrator would: one active process, restarted
 * whenever it dies (by a fault or not), and a standby process on demand. It records what the
 * report needs: restarts, exits nobody caused, peak RSS (VmHWM) of every process, and the time
 * from each (re)start or takeover to that process's first completed checkpoint.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobProcess, type ProcessExit } from '../integration/ha-failover/job-process.js';

/** One job process the supervisor started. */
export interface Member {
  readonly n: number;
  readonly proc: JobProcess;
  /** Why it was started: the first start, a restart after an exit, a standby, the final drain. */
  readonly reason: 'start' | 'restart' | 'standby' | 'final';
  /** When it (re)started or, for a standby, when it was asked to take over (ms, performance.now()). */
  since: number;
  /** The supervisor (a fault) ended it: its exit is not an unexpected one. */
  expectExit: boolean;
  /** Set on a zombie (SIGSTOPped past its lease): it must exit non-zero once resumed. */
  zombie: boolean;
  peakRssKb: number;
  exit?: ProcessExit;
}

export interface UnexpectedExit {
  readonly process: number;
  readonly exit: ProcessExit;
  readonly tail: string;
}

export class JobSupervisor {
  readonly members: Member[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Restart or takeover → first completed checkpoint of the process that took over, ms (null: it ended before one). */
  readonly restartToCheckpointMs: (number | null)[] = [];
  restarts = 0;
  active: Member | undefined;
  private stopping = false;
  private readonly rssTimer: NodeJS.Timeout;

  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {
    this.rssTimer = setInterval(() => this.sampleRss(), 500);
  }

  /** Starts the first active process. */
  start(): Member {
    this.active = this.spawn('start');
    return this.active;
  }

  /** SIGKILLs the active process and starts its replacement (which waits out the dead one's lease). */
  async killActive(): Promise<Member> {
    const victim = this.active!;
    victim.expectExit = true;
    victim.proc.signal('SIGKILL');
    await victim.proc.exited;
    return this.restart();
  }

  /** Starts a standby next to the active process. */
  spawnStandby(): Member {
    return this.spawn('standby');
  }

  /** The standby becomes the active one (the old active is being fenced off as a zombie). */
  promote(standby: Member, zombie: Member): void {
    zombie.expectExit = true;
    zombie.zombie = true;
    standby.since = performance.now();
    this.active = standby;
    this.watchFirstCheckpoint(standby);
  }

  /** Gracefully stops the active process (SIGTERM); any exit but 0 is unexpected. */
  async stopActive(timeoutMs: number): Promise<ProcessExit> {
    this.stopping = true;
    const member = this.active!;
    member.proc.signal('SIGTERM');
    return member.proc.waitForExit(timeoutMs);
  }

  /** Runs the job once more with KAFKA_STOP_AT=end and waits for it to drain and exit (0 expected). */
  async drain(timeoutMs: number): Promise<ProcessExit> {
    this.stopping = true;
    const member = this.spawn('final', { KAFKA_STOP_AT: 'end' });
    this.active = member;
    return member.proc.waitForExit(timeoutMs);
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

  private restart(): Member {
    this.restarts++;
    this.active = this.spawn('restart');
    return this.active;
  }

  private spawn(reason: Member['reason'], extra: Record<string, string> = {}): Member {
    const n = this.members.length;
    const proc = new JobProcess(`job#${n}`, 'jobs/orders', { ...this.env, ...extra });
    const member: Member = { n, proc, reason, since: performance.now(), expectExit: false, zombie: false, peakRssKb: 0 };
    this.members.push(member);
    if (reason === 'restart') this.watchFirstCheckpoint(member);
    void proc.exited.then((exit) => this.exited(member, exit));
    return member;
  }

  private watchFirstCheckpoint(member: Member): void {
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
    // A zombie must not finish as if it still held the lease; a graceful stop or drain must exit 0.
    const expected = member.zombie ? !clean : member.expectExit || (this.stopping && clean);
    if (!expected) this.unexpectedExits.push({ process: member.n, exit, tail: member.proc.tail() });
    // An orchestrator replaces a job process that died on its own.
    if (!member.expectExit && !this.stopping && member === this.active) this.restart();
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
