import { join } from 'node:path';
import type { Server } from 'node:http';
import type { CheckpointStore } from '../runtime/checkpoint-store.js';
import { checkpointStoreFromUri } from '../runtime/checkpoint/checkpoint-store-from-uri.js';
import { newInstanceId } from '../runtime/checkpoint/instance-scope.js';
import { maintenanceScheduleFromSettings } from './maintenance-schedule.js';
import type { DeadLetterSink } from '../runtime/dead-letter.js';
import { ConfigError, LeaseUnconfirmedError, StreamlineError } from '../errors.js';
import type { CheckpointOptions } from '../runtime/execution/checkpoint-options.js';
import { JobRunner } from '../runtime/execution/job-runner.js';
import { SplitGroupRunner, type JobRun } from '../runtime/execution/split-group-runner.js';
import type { JobRunnerOptions } from '../runtime/execution/job-runner.js';
import { applyKeyedExchange } from '../runtime/parallel/keyed-exchange-setting.js';
import { ParallelJobRunner, parallelUnsupportedReason } from '../runtime/parallel/parallel-job-runner.js';
import { discardPrestartedSubtasks } from '../runtime/parallel/subtask-prestart.js';
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
import { CheckpointAgeReadiness } from '../runtime/checkpoint-age-readiness.js';
import { intSetting } from '../runtime/int-setting.js';
import { EventLoopMonitor } from '../runtime/event-loop-monitor.js';
import type { Clock, Timer } from '../runtime/time/clock.js';
import { systemClock } from '../runtime/time/system-clock.js';
import { keyedStateFactory } from '../runtime/state/state-backend-choice.js';
import { jobDeadLetters } from './job-dead-letters.js';
import { parseProcessSettings, type ProcessSettings } from './process-settings.js';
import type { KeyedStateBackend, KeyedStateContext } from '../runtime/state/keyed-state-backend.js';
import { JobActivity } from '../runtime/activity/job-activity.js';
import { consoleRoutes } from '../runtime/console/console-routes.js';
import { JobOverviewSource } from '../runtime/console/job-overview.js';
import { stderrTerminal, type TerminalWriter } from '../runtime/terminal/terminal-writer.js';
import { parseLogFormat } from '../runtime/terminal/log-format.js';
import { formatRunSummary, runSummary, runSummaryMessage, type RunOutcome } from './exit-summary.js';
import { StatusLine } from './status-line.js';

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
  /** Checkpoints and commits of every run, for the console and the exit summary. */
  readonly activity: JobActivity;
  /** A run of the job: parallel subtasks when the job and the build allow it, else one thread. */
  createRun(options: JobRunnerOptions, group?: SplitGroup): JobRun;
  setReady(ready: boolean): void;
}

/** What a signal stops: the running job (a graceful stop), or the wait before it starts. */
interface Stoppable {
  stop(): void;
}

/** Where a job process writes for people (defaults: the process's stderr). */
export interface JobProcessOutput {
  /** Where the status line and the exit summary go (stderr, shared with the logger). */
  readonly terminal?: TerminalWriter;
}

/**
 * One job in one process: metrics server with the web console, checkpoint store, the status
 * line, and the signal handling of a graceful stop (first signal: final checkpoint; second: exit
 * at once — the next start is still exactly once, it restores the last checkpoint). Then, by
 * SCALE_OUT: `standby` takes the job's HA lease (waiting as a standby until it gets it) and runs
 * the whole job; `group` joins the Kafka consumer group and runs whatever partitions it is
 * assigned, next to other instances. At the end a summary says what landed where and how to read it.
 */
export async function runJobProcess(job: Job, settings: Record<string, string | undefined>, logger: Logger, jobUrl?: string, output: JobProcessOutput = {}): Promise<JobExit> {
  const processSettings = parseProcessSettings(settings, job);
  const { workDir, metricsPort, stopTimeoutMs, scaleOut, checkpointUri, stateBackend, stateDir, parallelism } = processSettings;
  const clock = systemClock;
  const terminal = output.terminal ?? stderrTerminal();
  const pretty = (parseLogFormat(settings.LOG_FORMAT) ?? (terminal.isTTY ? 'pretty' : 'json')) === 'pretty';
  const statusIntervalMs = intSetting(settings, 'STATUS_INTERVAL_MS', 10_000, 0);
  const activity = new JobActivity(job.name, clock);
  let overview: JobOverviewSource | undefined;
  let statusLine: StatusLine | undefined;
  let failure: Error | undefined;
  /** What the run did and how to read its output: a block on a terminal, one line (with the figures as fields) in JSON logs. */
  const printSummary = async (source: JobOverviewSource, outcome: RunOutcome, error: Error | undefined) => {
    try {
      const summary = runSummary(await source.sample(), outcome, error);
      if (pretty) terminal.write(formatRunSummary(summary, terminal.colors));
      else logger.info({ summary }, runSummaryMessage(summary));
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'could not summarize the run');
    }
  };
  const metrics = new MetricsRegistry({ defaultMetrics: true, clock });
  metrics.initJob(job.name);
  metrics.starts.inc({ job: job.name });
  const loopMonitor = new EventLoopMonitor({ metrics, logger, clock, warnAboveMs: processSettings.eventLoopDelayWarnMs }).start();

  const checkpointAge = new CheckpointAgeReadiness(intSetting(settings, 'READY_MAX_CHECKPOINT_AGE_MS', 0, 0), metrics, clock);
  let ready = false;
  let server: Server | undefined;
  if (metricsPort > 0) {
    try {
      server = await startMetricsServer(metrics, { alive: () => true, ready: () => ready, notReadyReason: () => checkpointAge.staleReason() }, metricsPort, '0.0.0.0', consoleRoutes(() => overview));
      logger.info({ port: metricsPort, console: `http://localhost:${metricsPort}/` }, `web console on http://localhost:${metricsPort}/ (and /metrics, /healthz, /readyz)`);
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
    activity.enter('stopping');
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
    applyKeyedExchange(plan.flow, processSettings.keyedExchange);
    const deadLetters = jobDeadLetters(job, plan, env);
    activity.deadLetterLocation = deadLetters.location;
    overview = new JobOverviewSource(plan.flow, metrics, activity, clock);
    statusLine = new StatusLine({ source: overview, terminal, logger, clock, intervalMs: statusIntervalMs, pretty }).start();
    const maintenance = maintenanceScheduleFromSettings(settings, { flow: plan.flow, store, clock, logger, metrics });
    const ctx: ProcessContext = {
      job,
      settings,
      logger,
      metrics,
      store,
      flow: plan.flow,
      deadLetters,
      checkpoint: processSettings.checkpoint,
      processSettings,
      workDir,
      clock,
      createKeyedState: keyedStateFactory(stateBackend),
      stateDir,
      activity,
      createRun: (runOptions, group) => {
        const options = maintenance === undefined ? runOptions : { ...runOptions, afterCommit: maintenance.afterCommit };
        const why = jobUrl === undefined ? 'the job module has no file to load in a thread' : !SubtaskHandle.isAvailable() ? 'the subtask module is not built' : parallelUnsupportedReason(plan.flow);
        if (why !== undefined) {
          if (parallelism > 1) logger.info({ parallelism, reason: why }, 'running in one thread');
          discardPrestartedSubtasks();
          return new JobRunner(options);
        }
        return new ParallelJobRunner({
          ...options,
          parallelism,
          ...(processSettings.subtaskHeapMb === undefined ? {} : { subtaskHeapMb: processSettings.subtaskHeapMb }),
          jobUrl: jobUrl!,
          settings,
          workDir,
          stateBackend,
          stateDir,
          logLevel: settings.LOG_LEVEL ?? 'info',
          ...(group ? { group } : {}),
        });
      },
      setReady: (value) => {
        ready = value && signals === 0;
        if (ready) activity.enter('running');
        checkpointAge.running(ready);
      },
    };
    const attach = (stoppable: Stoppable): boolean => {
      active = stoppable;
      if (signals > 0) stoppable.stop();
      return signals === 0;
    };
    if (scaleOut === 'group') await runGroupInstance(ctx, attach);
    else await runStandbyInstance(ctx, attach);
    activity.enter('finished');
    return { code: 0 };
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    activity.enter('failed');
    return { code: 1, error: failure };
  } finally {
    ready = false;
    statusLine?.stop();
    stopTimer?.cancel();
    loopMonitor.stop();
    const delay = loopMonitor.summary();
    logger.info({ eventLoopDelayMs: { p50: round(delay.p50Ms), p99: round(delay.p99Ms), max: round(delay.maxMs) } }, 'event loop delay over the run');
    if (overview !== undefined) await printSummary(overview, failure !== undefined ? 'failed' : signals > 0 ? 'stopped' : 'finished', failure);
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
    ctx.activity.enter('standby');
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
      onConfirmed: () => metrics.leaseHeld.set({ job: job.name }, 1),
    }).start();
    metrics.leaseHeld.set({ job: job.name }, 1);
    ctx.activity.enter('starting');
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
      activity: ctx.activity,
      fencingToken: () => fencedKeeper.current().fencingToken,
      assertMayCommit: () => {
        try {
          fencedKeeper.assertHeld();
        } catch (error) {
          metrics.fencedCommits.inc({ job: job.name, kind: 'checkpoint' });
          // Unconfirmed past its expiry: not held as far as anyone can tell, until a renewal confirms it.
          if (error instanceof LeaseUnconfirmedError) metrics.leaseHeld.set({ job: job.name }, 0);
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
    // Bounded by the renewal interval: a store that does not answer only delays a takeover to the lease's expiry.
    if (keeper) await keeper.release().catch(() => undefined);
    await ha.close().catch(() => undefined);
  }
}

/**
 * Group mode: every instance is active. The instance joins the Kafka consumer group and runs the
 * partitions it is assigned; its checkpoints go to a scope of its own, and what each partition's
 * next owner restores is named by the job's table (see SplitGroupRunner).
 */
async function runGroupInstance(ctx: ProcessContext, attach: (stoppable: Stoppable) => boolean): Promise<void> {
  const instanceId = newInstanceId();
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
    activity: ctx.activity,
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
