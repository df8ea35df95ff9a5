/**
 * Runs the orders job as a group (SCALE_OUT=group): instances sharing the topic's partitions
 * through the Kafka consumer group, each with its own work folder. Members are killed (and
 * restarted or not), join and leave on the faults' demand; a member that dies on its own is
 * replaced, as an orchestrator would. The bookkeeping is SupervisedProcesses'.
 */
import { join } from 'node:path';
import type { ProcessExit } from '../integration/ha-failover/job-process.js';
import { SupervisedProcesses, type ExitExcuse, type Member } from './supervised-processes.js';

export class GroupSupervisor extends SupervisedProcesses {
  constructor(
    env: Record<string, string>,
    logDir: string,
    private readonly workRoot: string,
    excuse?: ExitExcuse,
  ) {
    super({ ...env, SCALE_OUT: 'group' }, logDir, excuse);
  }

  /** The oldest live member not on its way out. */
  get active(): Member | undefined {
    return this.live().find((m) => !m.expectExit && !m.leaving) ?? this.live()[0];
  }

  /** Starts `size` members. */
  start(size: number): Member[] {
    return Array.from({ length: size }, () => this.member('start'));
  }

  /** SIGKILLs `victim`; starts a replacement when `restart` (or when none would be left). */
  async kill(victim: Member, restart: boolean): Promise<{ replacement?: Member }> {
    victim.expectExit = true;
    victim.proc.signal('SIGKILL');
    await victim.proc.exited;
    if (!restart && this.live().length > 0) return {};
    this.restarts++;
    return { replacement: this.member('restart') };
  }

  /** A new member joins the group. */
  join(): Member {
    return this.member('join');
  }

  /** `member` leaves gracefully (SIGTERM: hand-over, then exit 0). */
  async leave(member: Member, timeoutMs: number): Promise<ProcessExit> {
    member.leaving = true;
    member.proc.signal('SIGTERM');
    return member.proc.waitForExit(timeoutMs);
  }

  /** Stops every member gracefully; each must exit 0. */
  async stopAll(timeoutMs: number): Promise<ProcessExit[]> {
    this.stopping = true;
    const live = this.live();
    for (const m of live) m.proc.signal('SIGTERM');
    return Promise.all(live.map((m) => m.proc.waitForExit(timeoutMs)));
  }

  // An orchestrator replaces a member that died on its own.
  protected onUnplannedExit(): void {
    this.restarts++;
    this.member('restart');
  }

  private member(reason: Member['reason']): Member {
    // Concurrent members must not share a work folder (on-disk keyed state is locked by its owner).
    return this.spawn(reason, { STREAMLINE_WORK_DIR: join(this.workRoot, `job-${this.members.length}`) });
  }
}
