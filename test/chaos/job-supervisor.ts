/**
 * Runs the orders job through the CLI as an orchestrator would: one active process, restarted
 * whenever it dies (by a fault or not), and a standby process on demand. The bookkeeping (RSS,
 * logs, restart → checkpoint, which exits were unexpected) is SupervisedProcesses'.
 */
import type { ProcessExit } from '../integration/ha-failover/job-process.js';
import { SupervisedProcesses, type Member } from './supervised-processes.js';

export type { ExitExcuse, Member, UnexpectedExit } from './supervised-processes.js';
/** What a chaos run and its faults need of a supervisor, single or group. */
export type Supervision = SupervisedProcesses;

export class JobSupervisor extends SupervisedProcesses {
  private current: Member | undefined;

  get active(): Member | undefined {
    return this.current;
  }

  /** Starts the first active process. */
  start(): Member {
    this.current = this.spawn('start');
    return this.current;
  }

  /** SIGKILLs the active process and starts its replacement (which waits out the dead one's lease). */
  async killActive(): Promise<Member> {
    const victim = this.current!;
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
    this.current = standby;
    this.watchFirstCheckpoint(standby);
  }

  /** Gracefully stops the active process (SIGTERM); any exit but 0 is unexpected. */
  async stopActive(timeoutMs: number): Promise<ProcessExit> {
    this.stopping = true;
    const member = this.current!;
    member.proc.signal('SIGTERM');
    return member.proc.waitForExit(timeoutMs);
  }

  /** Runs the job once more with KAFKA_STOP_AT=end and waits for it to drain and exit (0 expected). */
  async drain(timeoutMs: number): Promise<ProcessExit> {
    this.stopping = true;
    const member = this.spawn('final', { KAFKA_STOP_AT: 'end' });
    this.current = member;
    return member.proc.waitForExit(timeoutMs);
  }

  // An orchestrator replaces the active job process when it dies on its own.
  protected onUnplannedExit(member: Member): void {
    if (member === this.current) this.restart();
  }

  private restart(): Member {
    this.restarts++;
    this.current = this.spawn('restart');
    return this.current;
  }
}
