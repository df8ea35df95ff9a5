import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { checkpointStoreFromUri } from '../runtime/checkpoint/checkpoint-store-from-uri.js';
import { FileDeadLetterSink } from '../runtime/dead-letters/file-dead-letter-sink.js';
import { ConfigError, StreamlineError } from '../runtime/errors.js';
import { JobRunner, type RestoreSelection } from '../runtime/execution/job-runner.js';
import { haStoreFromConfig } from '../runtime/ha/ha-store-from-config.js';
import { LeaseKeeper } from '../runtime/ha/lease-keeper.js';
import { newLeaseOwnerId, waitForLease } from '../runtime/ha/wait-for-lease.js';
import type { Job } from '../runtime/job.js';
import type { Logger } from '../runtime/logger.js';
import { MetricsRegistry } from '../runtime/metrics-registry.js';
import { startMetricsServer } from '../runtime/metrics-server.js';
import { HeapKeyedStateBackend } from '../runtime/state/heap-keyed-state-backend.js';
import { intSetting } from '../runtime/int-setting.js';

/** Outcome of one process run of a job. */
export type JobExit = { readonly code: 0 } | { readonly code: 1; readonly error: Error };

/**
 * One job in one process: HA lease (standby until acquired), checkpoint store, metrics server,
 * the runner, and the signal handling of a graceful stop (first signal: final checkpoint; second:
 * exit at once — the next start is still exactly once, it restores the last checkpoint).
 */
export async function runJobProcess(job: Job, settings: Record<string, string | undefined>, logger: Logger): Promise<JobExit> {
  const workDir = resolve(settings.STREAMLINE_WORK_DIR ?? '.streamline');
  const metrics = new MetricsRegistry({ defaultMetrics: true });
  metrics.initJob(job.name);
  metrics.starts.inc({ job: job.name });
  const metricsPort = intSetting(settings, 'METRICS_PORT', 9249);
  const stopTimeoutMs = intSetting(settings, 'STOP_TIMEOUT_MS', 60_000, 1);
  const leaseTtlMs = intSetting(settings, 'LEASE_TTL_MS', 15_000, 1_000);
  const restoreFrom = parseRestore(settings.FROM_CHECKPOINT);
  const checkpointUri = settings.CHECKPOINT_URI ?? `file://${join(workDir, 'checkpoints')}`;

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

  const store = checkpointStoreFromUri(checkpointUri, { logger, env: settings });
  const plan = await job.build({ jobName: job.name, settings, workDir, logger, metrics });
  const deadLetters = plan.deadLetters ?? new FileDeadLetterSink(join(workDir, 'dead-letters', `${job.name}.jsonl`));
  const ha = haStoreFromConfig({ localDir: join(workDir, 'ha'), env: settings, logger });

  let runner: JobRunner | undefined;
  let signals = 0;
  let stopTimer: NodeJS.Timeout | undefined;
  const standby = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now without a final checkpoint');
      process.exit(130);
    }
    logger.info({ signal, timeoutMs: stopTimeoutMs }, 'stopping: taking a final checkpoint');
    ready = false;
    standby.abort(new StreamlineError('stopped while standby'));
    stopTimer = setTimeout(() => {
      logger.error({ timeoutMs: stopTimeoutMs }, 'graceful stop timed out; exiting without a final checkpoint');
      process.exit(1);
    }, stopTimeoutMs);
    stopTimer.unref();
    void runner?.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const owner = newLeaseOwnerId();
  let keeper: LeaseKeeper | undefined;
  try {
    let lease;
    try {
      lease = await waitForLease(ha, job.name, owner, leaseTtlMs, { signal: standby.signal, logger });
    } catch (error) {
      if (standby.signal.aborted) return { code: 0 };
      throw error;
    }
    keeper = new LeaseKeeper({
      store: ha,
      lease,
      ttlMs: leaseTtlMs,
      logger,
      onLost: (error) => {
        metrics.leaseHeld.set({ job: job.name }, 0);
        runner?.abort(error);
      },
    }).start();
    metrics.leaseHeld.set({ job: job.name }, 1);
    logger.info({ owner, fencingToken: lease.fencingToken.toString(), ha: ha.uri, checkpoints: store.uri }, 'lease acquired; starting');

    const fencedKeeper = keeper;
    runner = new JobRunner({
      flow: plan.flow,
      store,
      checkpoint: {
        ...job.checkpoint,
        ...(settings.CHECKPOINT_INTERVAL_MS ? { intervalMs: intSetting(settings, 'CHECKPOINT_INTERVAL_MS', 10_000, 1) } : {}),
        ...(settings.CHECKPOINT_RETAIN ? { retain: intSetting(settings, 'CHECKPOINT_RETAIN', 3, 1) } : {}),
      },
      restoreFrom,
      haLatestCheckpointId: async () => (await ha.readPointer(job.name))?.checkpointId,
      metrics,
      logger,
      deadLetters,
      createKeyedState: () => new HeapKeyedStateBackend(),
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
        await ha.publishPointer(fencedKeeper.current(), { checkpointId: checkpoint.metadata.checkpointId, location: checkpoint.location });
      },
    });
    if (signals > 0) return { code: 0 };
    ready = true;
    const result = await runner.run();
    logger.info({ lastCheckpoint: result.lastCheckpoint, restoredFrom: result.restoredFrom }, 'job finished');
    return { code: 0 };
  } catch (error) {
    return { code: 1, error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    ready = false;
    if (stopTimer) clearTimeout(stopTimer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (keeper) {
      await keeper.stop();
      await ha.release(keeper.current()).catch(() => undefined);
    }
    await ha.close().catch(() => undefined);
    server?.close();
  }
}

function parseRestore(raw: string | undefined): RestoreSelection {
  if (raw === undefined || raw === '' || raw === 'latest') return 'latest';
  if (raw === 'none') return 'none';
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1) throw new ConfigError('FROM_CHECKPOINT (--from-checkpoint)', `must be 'latest', 'none' or a checkpoint id, got '${raw}'`);
  return id;
}
