/**
 * The seeded fault schedule of a chaos run and the code that injects each fault into the
 * supervised job: kills at random moments and at chosen points of its life, a SIGSTOP past the
 * lease with a standby taking over, outages of every AWS service through the fault proxy,
 * bursts of bad records, a crash and restart of the Kafka broker (shared by the machine: only the
 * full run schedules it), and in group mode instances killed and joining (group-faults.ts).
 */
import type { BrokerControl } from './broker-control.js';
import type { FaultProxy } from './fault-proxy.js';
import type { ChaosProducer } from './chaos-producer.js';
import type { CatchUp } from './consumer-progress.js';
import { injectGroupFault } from './group-faults.js';
import type { GroupSupervisor } from './group-supervisor.js';
import type { JobSupervisor, Member, Supervision } from './job-supervisor.js';
import { Prng } from './prng.js';

/** The faults of a single-instance run (an active process with its lease and standbys), broker restart aside. */
export const FAULT_KINDS = [
  'kill-random',
  'kill-after-checkpoint',
  'kill-after-commit',
  'kill-during-restore',
  'sigstop-takeover',
  'aws-refuse',
  'aws-blackhole',
  'aws-slow',
  'bad-burst',
] as const;
/** The faults of a group-mode run (instances sharing the splits), broker restart aside. */
export const GROUP_FAULT_KINDS = ['group-kill', 'group-join', 'aws-refuse', 'aws-blackhole', 'aws-slow', 'bad-burst'] as const;
export const BROKER_RESTART = 'broker-restart' as const;
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof GROUP_FAULT_KINDS)[number] | typeof BROKER_RESTART;

/** One scheduled fault: what, after how long a pause, and its seeded parameter (outage ms, burst size). */
export interface ScheduledFault {
  readonly kind: FaultKind;
  readonly pauseMs: number;
  readonly param: number;
}

/** `count` faults: every kind of `kinds` once in a seeded order, then seeded picks. */
export function faultSchedule(seed: number, kinds: readonly FaultKind[], count: number): ScheduledFault[] {
  const prng = new Prng(seed ^ 0x5eed);
  const order = [...kinds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  while (order.length < count) order.push(prng.pick(kinds));
  return order.slice(0, count).map((kind) => ({
    kind,
    pauseMs: prng.int(1_000, 5_000),
    param: param(kind, prng),
  }));
}

/** A fault's seeded parameter: burst size; outage or broker downtime, ms; for group kills, odd = restart the victim; else a delay, ms. */
function param(kind: FaultKind, prng: Prng): number {
  if (kind === 'bad-burst') return prng.int(1_000, 3_000);
  if (kind.startsWith('aws-')) return prng.int(2_000, 4_000);
  // On top of the broker's own restart (13–30 s on the 2-core test machine): around RETRY_DEADLINE_MS (30 s), mostly below.
  if (kind === BROKER_RESTART) return prng.int(1_000, 6_000);
  return prng.int(0, 2_000);
}

/** What the injection needs to reach: the group's faults need `group`, the broker restart `broker`. */
export interface FaultTargets {
  readonly supervisor: Supervision;
  readonly group?: GroupSupervisor;
  readonly broker?: BrokerControl;
  readonly proxy: FaultProxy;
  readonly producer: ChaosProducer;
  readonly leaseTtlMs: number;
  readonly log: (text: string) => void;
  /** Waits until the job's consumer group has committed the topic's current end (consumer-progress.ts). */
  readonly catchUp: (timeoutMs: number) => Promise<CatchUp>;
  /** Faults after which the job did not read again in time (each a note); a run with any fails. */
  readonly stalls: string[];
}

/** Waits for the next log line (after now) of `member` containing `msg`; false when it did not come in time or the process ended. */
async function nextLine(member: Member, msg: string, timeoutMs: number): Promise<boolean> {
  const seen = new Set(member.proc.logged(msg));
  return member.proc.waitForMsg(msg, timeoutMs, (line) => !seen.has(line)).then(
    () => true,
    () => false,
  );
}

/** Waits until the active process has completed a checkpoint since it took over (progress between faults). */
export async function awaitProgress(targets: FaultTargets, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const member = targets.supervisor.active!;
    if (member.proc.logged('checkpoint complete').length > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** Log lines of a process saying an AWS call or a checkpoint failed (how an outage shows). */
function awsFailures(member: Member): number {
  return ['request failed; retrying', 'lease renewal failed; retrying', 'checkpoint failed'].reduce((n, msg) => n + member.proc.logged(msg).length, 0);
}

/** Injects one fault; returns a note for the run's log (e.g. a point that was not reached). */
export async function inject(fault: ScheduledFault, t: FaultTargets): Promise<string> {
  const { proxy } = t;
  const active = t.supervisor.active!;
  if (fault.kind === 'group-kill' || fault.kind === 'group-join') {
    if (t.group === undefined) throw new Error(`${fault.kind} needs a group-mode run`);
    return injectGroupFault(fault, t.group);
  }
  if (fault.kind === BROKER_RESTART) return restartBroker(fault, t);
  const supervisor = t.supervisor as JobSupervisor;
  switch (fault.kind) {
    case 'kill-random':
      await new Promise((resolve) => setTimeout(resolve, fault.param));
      await supervisor.killActive();
      return 'killed';
    case 'kill-after-checkpoint':
    case 'kill-after-commit': {
      const msg = fault.kind === 'kill-after-checkpoint' ? 'checkpoint complete' : 'committed Iceberg snapshot';
      const seen = await nextLine(active, msg, 60_000);
      await supervisor.killActive();
      return seen ? `killed right after '${msg}'` : `'${msg}' did not come within 60 s; killed anyway`;
    }
    case 'kill-during-restore': {
      const next = await supervisor.killActive();
      const seen = await nextLine(next, 'restored', 60_000);
      if (!seen) return "no 'restored' line within 60 s (nothing to restore?)";
      await supervisor.killActive();
      return "killed right after 'restored'";
    }
    case 'sigstop-takeover': {
      const standby = supervisor.spawnStandby();
      const waiting = await nextLine(standby, 'waiting as standby', 60_000);
      active.proc.signal('SIGSTOP');
      supervisor.promote(standby, active);
      const took = await nextLine(standby, 'checkpoint complete', t.leaseTtlMs + 90_000);
      active.proc.signal('SIGCONT');
      // The resumed zombie must find out it lost the lease and exit; an orchestrator would not wait for ever.
      const gone = await Promise.race([active.proc.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
      if (!gone) await active.proc.kill();
      return `standby ${waiting ? 'waited' : 'did not log waiting'}, ${took ? 'took over and checkpointed' : 'did not checkpoint in time'}; zombie ${gone ? `exited ${JSON.stringify(active.proc.exitStatus)}` : 'killed after 60 s'}`;
    }
    case 'aws-refuse':
    case 'aws-blackhole':
    case 'aws-slow': {
      const kind = fault.kind.slice('aws-'.length) as 'refuse' | 'blackhole' | 'slow';
      const failuresBefore = awsFailures(active);
      await proxy.set(kind === 'slow' ? { kind, delayMs: 400 } : { kind });
      await new Promise((resolve) => setTimeout(resolve, fault.param));
      await proxy.set({ kind: 'pass' });
      return `${kind} for ${fault.param} ms (${awsFailures(active) - failuresBefore} retried calls or failed checkpoints logged)`;
    }
    case 'bad-burst':
      t.producer.burst(fault.param);
      return `${fault.param} bad records`;
  }
}

/** How long the job has to consume and commit what the topic holds once the producer wrote FRESH_RECORDS after the broker's return. */
const CATCH_UP_MS = 90_000;
const FRESH_RECORDS = 200;

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** Crashes the broker, keeps it down `param` ms, restarts it, and notes how the job came through. */
async function restartBroker(fault: ScheduledFault, t: FaultTargets): Promise<string> {
  if (t.broker === undefined) throw new Error('broker-restart needs the broker control (the full run with CHAOS_BROKER_RESTART not 0)');
  const exits = () => t.supervisor.unexpectedExits.length + t.supervisor.excusedExits.length;
  const exitsBefore = exits();
  const outage = await t.broker.crashAndRestart(fault.param);
  const downS = ((outage.readyAt! - outage.killedAt) / 1000).toFixed(1);
  // Riding it out means reading again, not only checkpointing (a job with paused partitions still completes empty
  // checkpoints): the job must consume what the producer wrote after the broker came back.
  const confirmed = t.producer.confirmedKeys.length;
  const wrote = await until(() => t.producer.confirmedKeys.length >= confirmed + FRESH_RECORDS, 60_000);
  const progress = await t.catchUp(CATCH_UP_MS);
  const exited = exits() - exitsBefore;
  let note = `broker SIGKILLed, started again after ${fault.param} ms, down ${downS} s in all; ${exited === 0 ? 'no job process exited' : `${exited} job process exit(s) nobody caused`}; `;
  if (!wrote) note += 'the producer wrote nothing new within 60 s; ';
  if (progress.caughtUp) return `${note}the job's group committed ${FRESH_RECORDS}+ records written after the broker's return within ${(progress.ms / 1000).toFixed(1)} s`;
  t.stalls.push(`broker-restart: ${progress.behind} records written after the broker's return still uncommitted by the job's group after ${CATCH_UP_MS / 1000} s`);
  return `${note}STALLED: ${progress.behind} records written after the broker's return still uncommitted by the job's group after ${CATCH_UP_MS / 1000} s`;
}
