/**
 * The faults of a group-mode chaos run: kill -9 of a seeded member (restarted by the supervisor
 * or not: the fault's parameter decides), and a third instance joining, after which a seeded
 * older member leaves with SIGTERM (the group is back to its size; two rebalances with hand-over).
 */
import type { ScheduledFault } from './fault-schedule.js';
import type { GroupSupervisor } from './group-supervisor.js';
import type { Member } from './supervised-processes.js';

const STEP_TIMEOUT_MS = 90_000;

/** Waits for the next 'checkpoint complete' of `member` (after now); false when it did not come in time or the process ended. */
async function nextCheckpoint(member: Member): Promise<boolean> {
  const seen = new Set(member.proc.logged('checkpoint complete'));
  return member.proc.waitForMsg('checkpoint complete', STEP_TIMEOUT_MS, (line) => !seen.has(line)).then(
    () => true,
    () => false,
  );
}

export async function injectGroupFault(fault: ScheduledFault, group: GroupSupervisor): Promise<string> {
  const live = group.live().filter((m) => !m.leaving && !m.expectExit);
  if (fault.kind === 'group-kill') {
    const victim = live[fault.param % live.length]!;
    const { replacement } = await group.kill(victim, fault.param % 2 === 1);
    if (replacement === undefined) return `job#${victim.n} killed, not restarted (${group.live().length} left)`;
    const checkpointed = await nextCheckpoint(replacement);
    return `job#${victim.n} killed, replaced by job#${replacement.n}${checkpointed ? ', which checkpointed' : ` (no checkpoint within ${STEP_TIMEOUT_MS / 1000} s)`}`;
  }
  const joiner = group.join();
  const joined = await nextCheckpoint(joiner);
  if (live.length < 2) return `job#${joiner.n} joined${joined ? ' and checkpointed' : ''}; the group was ${live.length}, nobody leaves`;
  await new Promise((resolve) => setTimeout(resolve, fault.param));
  const leaver = live[fault.param % live.length]!;
  const exit = await group.leave(leaver, STEP_TIMEOUT_MS).catch((e: Error) => ({ error: e.message.split('\n')[0] }));
  return `job#${joiner.n} joined${joined ? ' and checkpointed' : ` (no checkpoint within ${STEP_TIMEOUT_MS / 1000} s)`}; job#${leaver.n} left: ${JSON.stringify(exit)}`;
}
