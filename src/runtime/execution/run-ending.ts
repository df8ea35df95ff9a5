/** How a run ends, the same for one pipeline and for parallel subtasks: a graceful stop or a failure. */
import { StreamlineError } from '../../errors.js';
import type { Logger } from '../logger.js';
import type { CheckpointCoordinator } from './checkpoint-coordinator.js';

/**
 * A run's end: a graceful stop (Flink's stop-with-savepoint: a final checkpoint whose barrier also
 * stops the sources) or a failure, the first of which wins. A stop asked for while the run still
 * restores starts once its sources run, as a final checkpoint needs them running.
 */
export class RunEnding {
  private rejectRun!: (error: Error) => void;
  /**
   * Rejects with the run's failure. Made with the runner, so that an abort that comes while the run
   * is still restoring (a hand-over that timed out, a second signal) ends the run instead of being lost.
   */
  readonly failed = new Promise<never>((_, reject) => (this.rejectRun = reject));
  private firstFailure: Error | undefined;
  private stopping: Promise<void> | undefined;
  private stopRequested = false;
  private running = false;

  constructor(
    private readonly logger: Logger,
    /** The run's checkpoint coordinator once it has one: it takes the final checkpoint. */
    private readonly coordinator: () => CheckpointCoordinator | undefined,
    /** What else a failure stops in this runner, after the coordinator's checkpoints were aborted. */
    private readonly onFailure: (error: Error) => void = () => undefined,
  ) {
    this.failed.catch(() => undefined);
  }

  /** The run's failure, once it failed. */
  get failure(): Error | undefined {
    return this.firstFailure;
  }

  /** True once a graceful stop began: a checkpoint completing from then on is the final one. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** The run's sources run: a stop asked for before starts now. */
  sourcesRunning(): void {
    this.running = true;
    if (this.stopRequested) void this.stop();
  }

  /** Resolves when a graceful stop that began has ended; at once when none began. */
  async stopped(): Promise<void> {
    await this.stopping;
  }

  /**
   * Ends periodic checkpoints and takes a final one whose barrier also stops the sources; resolves
   * when it completed and the sinks committed. A final checkpoint that fails fails the run (unless
   * it failed already for another reason): the next start restores the previous one.
   */
  stop(): Promise<void> {
    if (!this.running) {
      this.stopRequested = true;
      return Promise.resolve();
    }
    this.stopping ??= this.finalCheckpoint();
    return this.stopping;
  }

  /** Ends the run at once; a failure after the first is ignored. */
  fail(error: unknown): void {
    if (this.firstFailure) return;
    const err = error instanceof Error ? error : new Error(String(error));
    this.firstFailure = err;
    this.logger.error({ err }, 'job failed');
    this.coordinator()?.abortAll();
    this.onFailure(err);
    this.rejectRun(err);
  }

  private async finalCheckpoint(): Promise<void> {
    const coordinator = this.coordinator();
    if (coordinator === undefined) return;
    coordinator.stop();
    const completed = await coordinator.trigger(true);
    if (completed === undefined) this.fail(new StreamlineError('The final checkpoint of the graceful stop failed; the next start restores from the previous checkpoint.'));
  }
}
