import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { CheckpointStore } from '../runtime/checkpoint-store.js';
import { checkpointStoreFromUri } from '../runtime/checkpoint/checkpoint-store-from-uri.js';
import type { DeadLetterSink } from '../runtime/dead-letter.js';
import { ConfigError, StreamlineError } from '../errors.js';
import type { CheckpointOptions } from '../runtime/execution/checkpoint-options.js';
import { JobRunner } from '../runtime/execution/job-runner.js';
import { SplitGroupRunner, type JobRun } from '../runtime/execution/split-group-runner.js';
import type { JobRunnerOptions } from '../runtime/execution/job-runner.js';
import { ParallelJobRunner, parallelUnsupportedReason } from '../runtime/parallel/parallel-job-runner.js';
import { SubtaskHandle } from '../runtime/parallel/subtask-handle.js';
import type { SplitGroup } from '../runtime/split-group.js';
import type { Dataflow } from '../runtime/graph/dataflow.js';
import { haStoreFromConfig } from '../runtime/ha/ha-store-from-config.js';
import { LeaseKeeper } from '../runtime/ha/lease-keeper.js';
import { newLeaseOwnerId, waitForLease } from '../runtime/ha/wait-for-lease.js';
import type { Job } from '../runtime/job.js';
import type { Logger } from '../runtime/logger.js';
import { MetricsRegistry } from '../runtime/metrics-registry.js';
import { startMetricsServer } from '../runtime/metrics-server.js';
import { EventLoopMonitor } from '../runtime/event-loop-monitor.js';
import type { Clock, Timer } from '../runtime/time/clock.js';
import { systemClock } from '../runtime/time/system-clock.js';
import { keyedStateFactory } from '../runtime/state/state-backend-choice.js';
import { jobDeadLetters } from './job-dead-letters.js';
import { parseProcessSettings, type ProcessSettings } from './process-settings.js';
import type { KeyedStateBackend, KeyedStateContext } from '../runtime/state/keyed-state-backend.js';

/** Outcome of one process run of a job. */
export type JobExit = { readonly code: 0 } | { readonly code: 1; readonly error: Error };

/** What both ways of running need, set up once per process. */
interface ProcessContext {
  readonly job: Job;
  readonly settings: Record<string, string | undefined>;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly store: CheckpointStore;
  readonly flow: Dataflow;
  readonly deadLetters: DeadLetterSink;
  readonly checkpoint: CheckpointOptions;
  readonly processSettings: ProcessSettings;
  readonly workDir: string;
  readonly clock: Clock;
  readonly createKeyedState: (context: KeyedStateContext) => KeyedStateBackend;
  readonly stateDir: string;
  /** A run of the job: parallel subtasks when the job and the build allow it, else one thread. */
  createRun(options: JobRunnerOptions, group?: SplitGroup): JobRun;
  setReady(ready: boolean): void;
}

/** What a signal stops: the running job (a graceful stop), or the wait before it starts. */
interface Stoppable {
  stop(): void;
}

/**
 * One job in one process: metrics server, checkpoint store, and the signal handling of a
 * graceful stop (first signal: final checkpoint; second: exit at once — the next start is still
 * exactly once, it restores the last checkpoint). Then, by SCALE_OUT: `standby` takes the job's
 * HA lease (waiting as a standby until it gets it) and runs the whole job; `group` joins the
 * Kafka consumer group and runs whatever partitions it is assigned, next to other instances.
 */
export async function runJobProcess(job: Job, settings: Record<string, string | undefined>, logger: Logger, jobUrl?: string): Promise<JobExit> {
  const processSettings = parseProcessSettings(settings, job);
  const { workDir, metricsPort, stopTimeoutMs, scaleOut, checkpointUri, stateBackend, stateDir, parallelism } = processSettings;
  const clock = systemClock;
  const metrics = new MetricsRegistry({ defaultMetrics: true, clock });
  metrics.initJob(job.name);
  metrics.starts.inc({ job: job.name });
  const loopMonitor = new EventLoopMonitor({ metrics, logger, clock, warnAboveMs: processSettings.eventLoopDelayWarnMs }).start();

  let ready = false;
  let server: Server | undefined;
  if (metricsPort > 0) {
    try {
      server = await startMetricsServer(metrics, { alive: () => true, ready: () => ready }, metricsPort);
      logger.info({ port: metricsPort }, 'serving /metrics, /healthz, /readyz');
    } catch (error) {
      throw new ConfigError('METRICS_PORT (--metrics-port)', `cannot listen on port ${metricsPort}: ${(error as Error).message}`);
    }
  }

  let active: Stoppable | undefined;
  let signals = 0;
  let stopTimer: Timer | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now without a final checkpoint');
      process.exit(130);
    }
    logger.info({ signal, timeoutMs: stopTimeoutMs }, 'stopping: taking a final checkpoint');
    ready = false;
    stopTimer = clock.setTimeout(() => {
      logger.error({ timeoutMs: stopTimeoutMs }, 'graceful stop timed out; exiting without a final checkpoint');
      process.exit(1);
    }, stopTimeoutMs);
    active?.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    const store = checkpointStoreFromUri(checkpointUri, { logger, env: settings });
    const env = { jobName: job.name, settings, workDir, logger, metrics };
    const plan = await job.build(env);
    const ctx: ProcessContext = {
      job,
      settings,
      logger,
      metrics,
      store,
      flow: plan.flow,
      deadLetters: jobDeadLetters(job, plan, env),
      checkpoint: processSettings.checkpoint,
      processSettings,
      workDir,
      clock,
      createKeyedState: keyedStateFactory(stateBackend),
      stateDir,
      createRun: (options, group) => {
        const why = jobUrl === undefined ? 'the job module has no file to load in a thread' : !SubtaskHandle.isAvailable() ? 'the subtask module is not built' : parallelUnsupportedReason(plan.flow);
        if (why !== undefined) {
          if (parallelism > 1) logger.info({ parallelism, reason: why }, 'running in one thread');
          return new JobRunner(options);
        }
        return new ParallelJobRunner({
          ...options,
          parallelism,
          jobUrl: jobUrl!,
          settings,
          workDir,
          stateBackend,
          stateDir,
          logLevel: settings.LOG_LEVEL ?? 'info',
          ...(group ? { group } : {}),
        });
      },
      setReady: (value) => (ready = value && signals === 0),
    };
    const attach = (stoppable: Stoppable): boolean => {
      active = stoppable;
      if (signals > 0) stoppable.stop();
      return signals === 0;
    };
    if (scaleOut === 'group') await runGroupInstance(ctx, attach);
    else await runStandbyInstance(ctx, attach);
    return { code: 0 };
  } catch (error) {
    return { code: 1, error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    ready = false;
    stopTimer?.cancel();
    loopMonitor.stop();
    const delay = loopMonitor.summary();
    logger.info({ eventLoopDelayMs: { p50: round(delay.p50Ms), p99: round(delay.p99Ms), max: round(delay.maxMs) } }, 'event loop delay over the run');
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    server?.close();
  }
}

/**
 * Standby mode: wait for the job's lease (a standby until the active instance stops renewing),
 * then run the whole job, fenced by the lease's token.
 */
async function runStandbyInstance(ctx: ProcessContext, attach: (stoppable: Stoppable) => boolean): Promise<void> {
  const { job, settings, logger, metrics, store } = ctx;
  const { leaseTtlMs, restoreFrom } = ctx.processSettings;
  const ha = haStoreFromConfig({ localDir: join(ctx.workDir, 'ha'), env: settings, logger });
  const standby = new AbortController();
  let keeper: LeaseKeeper | undefined;
  try {
    if (!attach({ stop: () => standby.abort(new StreamlineError('stopped while standby')) })) return;
    const owner = newLeaseOwnerId();
    let lease;
    try {
      lease = await waitForLease(ha, job.name, owner, leaseTtlMs, { signal: standby.signal, logger, clock: ctx.clock });
    } catch (error) {
      if (standby.signal.aborted) return;
      throw error;
    }
    let runner: JobRun | undefined;
    keeper = new LeaseKeeper({
      store: ha,
      lease,
      ttlMs: leaseTtlMs,
      logger,
      clock: ctx.clock,
      onLost: (error) => {
        metrics.leaseHeld.set({ job: job.name }, 0);
        runner?.abort(error);
      },
    }).start();
    metrics.leaseHeld.set({ job: job.name }, 1);
    logger.info({ owner, fencingToken: lease.fencingToken.toString(), ha: ha.uri, checkpoints: store.uri }, 'lease acquired; starting');

    const fencedKeeper = keeper;
    runner = ctx.createRun({
      flow: ctx.flow,
      store,
      checkpoint: ctx.checkpoint,
      restoreFrom,
      haPointer: { uri: ha.uri, latestCheckpointId: async () => (await ha.readPointer(job.name, store.uri))?.checkpointId },
      metrics,
      logger,
      deadLetters: ctx.deadLetters,
      clock: ctx.clock,
      createKeyedState: ctx.createKeyedState,
      stateDir: ctx.stateDir,
      fencingToken: () => fencedKeeper.current().fencingToken,
      assertMayCommit: () => {
        try {
          fencedKeeper.assertHeld();
        } catch (error) {
          metrics.fencedCommits.inc({ job: job.name, kind: 'checkpoint' });
          throw error;
        }
      },
      onCheckpointDurable: async (checkpoint) => {
        await ha.publishPointer(fencedKeeper.current(), store.uri, { checkpointId: checkpoint.metadata.checkpointId, location: checkpoint.location });
      },
      onReady: (ready) => ctx.setReady(ready),
    });
    const stoppable = runner;
    if (!attach({ stop: () => void stoppable.stop() })) return;
    const result = await runner.run();
    logger.info({ lastCheckpoint: result.lastCheckpoint, restoredFrom: result.restoredFrom }, 'job finished');
  } finally {
    ctx.setReady(false);
    if (keeper) {
      await keeper.stop();
      await ha.release(keeper.current()).catch(() => undefined);
    }
    await ha.close().catch(() => undefined);
  }
}

/**
 * Group mode: every instance is active. The instance joins the Kafka consumer group and runs the
 * partitions it is assigned; its checkpoints go to a scope of its own, and what each partition's
 * next owner restores is named by the job's table (see SplitGroupRunner).
 */
async function runGroupInstance(ctx: ProcessContext, attach: (stoppable: Stoppable) => boolean): Promise<void> {
  const instanceId = `i-${randomBytes(4).toString('hex')}`;
  const member = new SplitGroupRunner({
    flow: ctx.flow,
    store: ctx.store,
    checkpoint: ctx.checkpoint,
    metrics: ctx.metrics,
    logger: ctx.logger.child({ instance: instanceId }),
    deadLetters: ctx.deadLetters,
    clock: ctx.clock,
    createKeyedState: ctx.createKeyedState,
    stateDir: ctx.stateDir,
    createRun: (options, group) => ctx.createRun(options, group),
    instanceId,
    onReady: (ready) => ctx.setReady(ready),
  });
  if (ctx.settings.DYNAMODB_TABLE) {
    ctx.logger.warn({ setting: 'DYNAMODB_TABLE' }, 'not used with SCALE_OUT=group: instances are fenced per partition by the commits in the job\'s table, not by a lease');
  }
  if (!attach({ stop: () => void member.stop() })) return;
  ctx.logger.info({ instance: instanceId, checkpoints: ctx.store.uri }, 'group mode: joining the consumer group');
  await member.run();
  ctx.logger.info({ instance: instanceId }, 'left the group; job finished');
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
