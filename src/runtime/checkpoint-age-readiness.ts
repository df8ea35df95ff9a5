import type { MetricsRegistry } from './metrics-registry.js';
import type { WallClock } from './time/clock.js';

/**
 * The readiness rule on checkpoint age (READY_MAX_CHECKPOINT_AGE_MS): a running job whose
 * checkpoints stopped completing — a hung upload, an outage past the retries — turns unready, so
 * an orchestrator can act although the process is alive. The age counts from the last completed
 * checkpoint, or from when the run became ready when none completed since (a standby that just
 * took over is not unready for the time it waited).
 */
export class CheckpointAgeReadiness {
  private runningSince: number | undefined;

  constructor(
    /** Largest age still ready, ms; 0 turns the rule off. */
    readonly maxAgeMs: number,
    private readonly metrics: MetricsRegistry,
    private readonly clock: WallClock,
  ) {}

  /** The run became ready (restored, sources running) or stopped being ready. */
  running(ready: boolean): void {
    this.runningSince = ready ? (this.runningSince ?? this.clock.now()) : undefined;
  }

  /** Why the job is not ready by this rule (for the `/readyz` body), or undefined when it is. */
  async staleReason(): Promise<string | undefined> {
    if (this.maxAgeMs <= 0 || this.runningSince === undefined) return undefined;
    const lastCompleted = await this.metrics.lastCheckpointCompletedAt();
    const ageMs = this.clock.now() - Math.max(this.runningSince, lastCompleted ?? 0);
    if (ageMs <= this.maxAgeMs) return undefined;
    return `no checkpoint completed for ${Math.round(ageMs / 1000)} s (READY_MAX_CHECKPOINT_AGE_MS=${this.maxAgeMs})`;
  }
}
