import type { CheckpointStore } from '../../checkpoint-store.js';
import type { Clock } from '../../time/clock.js';
import { StateSnapshotError } from './state-snapshot-error.js';
import { writeSnapshotFiles, type SnapshotJob, type SnapshotResult } from './snapshot-files.js';

/** Which worker a job goes to: checkpoints and changelog segments must never wait behind a materialization. */
export type SnapshotLane = 'write' | 'materialize';

/** Runs the asynchronous phase of keyed-state snapshots, in a worker thread or inline. */
export interface SnapshotFileWriter {
  /** Rejects with StateSnapshotError carrying the job's changelogs when the write fails. */
  write(job: SnapshotJob, lane: SnapshotLane): Promise<SnapshotResult>;
  /** Gets `lane` ready ahead of its first write (a worker thread started), so the first checkpoint does not wait for that. */
  prestart?(lane: SnapshotLane): void;
}

/**
 * On the task's own thread, giving the event loop a turn between blocks: for stores that cannot
 * be opened in a worker, and for environments without the compiled worker module.
 */
export class InlineSnapshotFileWriter implements SnapshotFileWriter {
  constructor(
    private readonly store: CheckpointStore,
    private readonly clock: Clock,
  ) {}

  async write(job: SnapshotJob): Promise<SnapshotResult> {
    try {
      return await writeSnapshotFiles(job, this.store, () => this.clock.yieldToEventLoop());
    } catch (error) {
      throw new StateSnapshotError(`writing keyed state of '${job.taskId}' for checkpoint ${job.checkpointId} failed: ${(error as Error).message}`, job.logs, { cause: error });
    }
  }
}
