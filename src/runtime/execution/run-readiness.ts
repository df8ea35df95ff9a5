import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { RestorePlan } from './restore-planner.js';

/** Where a runner reports that its run is restored and reads. */
export interface RunReadinessTarget {
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  /** Told true here: readiness. */
  readonly onReady?: (ready: boolean) => void;
}

/**
 * A run restored from `restore` and reads with `parallelism` subtasks: counts the restore (a
 * checkpoint, or splits handed over in group mode), logs where it came from and reports ready.
 */
export function reportRunReady(target: RunReadinessTarget, jobName: string, restore: RestorePlan, parallelism: number): void {
  if (restore.checkpoint) {
    target.metrics.restores.inc({ job: jobName });
    target.logger.info({ checkpoint: restore.checkpoint.metadata.checkpointId, location: restore.checkpoint.location }, 'restored');
  } else if (restore.restoredSplits !== undefined && restore.restoredSplits.length > 0) {
    target.metrics.restores.inc({ job: jobName });
  }
  target.metrics.parallelism.set({ job: jobName }, parallelism);
  target.metrics.ready.set({ job: jobName }, 1);
  target.onReady?.(true);
}
