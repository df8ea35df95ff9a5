/** Graceful stop (Flink's stop-with-savepoint), the same for a single pipeline and for parallel subtasks. */
import { StreamlineError } from '../../errors.js';
import type { CheckpointCoordinator } from './checkpoint-coordinator.js';

/**
 * Ends periodic checkpoints and takes a final one whose barrier also stops the sources; resolves
 * when it completed and the sinks committed. A final checkpoint that fails is reported through
 * `fail` (unless the run already failed for another reason): the next start restores the previous one.
 */
export async function stopWithFinalCheckpoint(coordinator: CheckpointCoordinator | undefined, hasFailed: () => boolean, fail: (error: Error) => void): Promise<void> {
  if (coordinator === undefined) return;
  coordinator.stop();
  const completed = await coordinator.trigger(true);
  if (completed === undefined && !hasFailed()) {
    fail(new StreamlineError('The final checkpoint of the graceful stop failed; the next start restores from the previous checkpoint.'));
  }
}
