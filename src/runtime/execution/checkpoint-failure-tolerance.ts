import { failedDependency, ToleranceExceededError } from '../../errors.js';

/**
 * Counts checkpoints that failed in a row (Flink's tolerable failed checkpoints); a completed
 * checkpoint starts the count over. Past the tolerance the job fails, with a message that names
 * the dependency behind the last failure (e.g. `S3 is unavailable`).
 */
export class CheckpointFailureTolerance {
  private count = 0;

  constructor(
    /** Consecutive failures tolerated (Infinity: never fail the job for failed checkpoints). */
    readonly tolerable: number,
    /** How the setting is named in messages. */
    private readonly setting = 'CHECKPOINT_TOLERABLE_FAILURES',
  ) {}

  /** Failures since the last completed checkpoint. */
  get consecutive(): number {
    return this.count;
  }

  /** A checkpoint completed: the count starts over. */
  completed(): void {
    this.count = 0;
  }

  /** Counts one failure; returns the error that fails the job once more than `tolerable` failed in a row. */
  failed(error: Error): ToleranceExceededError | undefined {
    this.count++;
    if (this.count <= this.tolerable) return undefined;
    const dependency = failedDependency(error);
    return new ToleranceExceededError(
      `${this.count} checkpoints failed in a row (${this.setting}=${this.tolerable})${dependency ? `; ${dependency} is unavailable` : ''}; last: ${error.message}`,
      dependency,
      { cause: error },
    );
  }
}
