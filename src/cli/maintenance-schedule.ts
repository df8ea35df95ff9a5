/**
 * Table maintenance inside a running job (MAINTAIN_INTERVAL_MS): after a commit, once the interval
 * has passed since the last pass (or the start), one maintenance pass runs — in the chain of
 * completion actions, so never beside one of the job's own commits; the next commit waits for it.
 * Skipped after the final checkpoint of a run (a stop or a hand-over should not wait for it).
 */
import type { CheckpointStore } from '../runtime/checkpoint-store.js';
import type { Dataflow } from '../runtime/graph/dataflow.js';
import { intSetting } from '../runtime/int-setting.js';
import type { Logger } from '../runtime/logger.js';
import { DEFAULT_ORPHAN_MIN_AGE_MS, MIN_ORPHAN_MIN_AGE_MS } from '../runtime/maintenance/maintenance-defaults.js';
import { runMaintenancePass, type MaintenancePassResult } from '../runtime/maintenance/maintenance-pass.js';
import type { MetricsRegistry } from '../runtime/metrics-registry.js';
import type { Clock } from '../runtime/time/clock.js';

export interface MaintenanceScheduleOptions {
  readonly jobName: string;
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** One pass (runMaintenancePass with the job's flow and store). */
  readonly pass: () => Promise<MaintenancePassResult>;
}

export class MaintenanceSchedule {
  private last: number;

  constructor(private readonly options: MaintenanceScheduleOptions) {
    this.last = options.clock.monotonic();
  }

  /** The runner's `afterCommit`: runs a pass when one is due. */
  readonly afterCommit = async (checkpointId: number, final: boolean): Promise<void> => {
    const { clock, logger, metrics, jobName } = this.options;
    if (final || clock.monotonic() - this.last < this.options.intervalMs) return;
    const started = clock.monotonic();
    this.last = started;
    logger.info({ checkpoint: checkpointId }, 'maintenance pass due: running it before the next commit');
    let outcome: 'ok' | 'failed' = 'failed';
    try {
      const result = await this.options.pass();
      outcome = result.outputs.some((o) => o.failures.length > 0) ? 'failed' : 'ok';
      logger.info({ discardedScopes: result.discardedScopes, outputs: result.outputs, ms: Math.round(clock.monotonic() - started) }, 'maintenance pass done');
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'maintenance pass failed; the next one runs after the interval');
    } finally {
      metrics.maintenanceRuns.inc({ job: jobName, outcome });
      metrics.maintenanceDuration.observe({ job: jobName }, (clock.monotonic() - started) / 1000);
    }
  };
}

/** What a schedule needs from the process. */
export interface ScheduledMaintenanceContext {
  readonly flow: Dataflow;
  readonly store: CheckpointStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/** The schedule MAINTAIN_INTERVAL_MS asks for (undefined: unset or 0, no maintenance inside the job). */
export function maintenanceScheduleFromSettings(settings: Readonly<Record<string, string | undefined>>, ctx: ScheduledMaintenanceContext): MaintenanceSchedule | undefined {
  const intervalMs = intSetting(settings, 'MAINTAIN_INTERVAL_MS', 0, 0);
  const scopeMinAgeMs = orphanMinAgeSetting(settings);
  if (intervalMs === 0) return undefined;
  const logger = ctx.logger.child({ maintenance: true });
  ctx.logger.info({ intervalMs }, 'table maintenance runs inside the job after commits');
  return new MaintenanceSchedule({
    jobName: ctx.flow.name,
    intervalMs,
    clock: ctx.clock,
    logger,
    metrics: ctx.metrics,
    pass: () => runMaintenancePass({ flow: ctx.flow, store: ctx.store, logger, clock: ctx.clock, scopeMinAgeMs }),
  });
}

/** MAINTAIN_ORPHAN_MIN_AGE_MS: the safety age of everything maintenance deletes as unreferenced. */
export function orphanMinAgeSetting(settings: Readonly<Record<string, string | undefined>>): number {
  return intSetting(settings, 'MAINTAIN_ORPHAN_MIN_AGE_MS', DEFAULT_ORPHAN_MIN_AGE_MS, MIN_ORPHAN_MIN_AGE_MS);
}
