import { StaleAssignmentError, StreamlineError } from '../errors.js';
import type { SplitAssignment } from './split-group.js';

/**
 * The latest assignment a split group gave this instance, for `SplitGroup.nextAssignment`: a
 * newer one replaces an older one nobody took yet (only the current assignment may run), a
 * revoke empties it until the next one arrives, and a failure of the group reaches the waiter.
 */
export class AssignmentMailbox {
  private generation = 0;
  private taken = 0;
  private splits: readonly string[] | undefined;
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();

  /** A new assignment arrived; returns its generation. */
  put(splits: readonly string[]): number {
    this.generation++;
    this.splits = [...splits].sort();
    this.wakeAll();
    return this.generation;
  }

  /** The group is rebalancing: the current assignment is no longer valid. */
  revoke(): void {
    this.splits = undefined;
  }

  /** The group failed for good: waiting takers get `error`. */
  fail(error: Error): void {
    this.failure = error;
    this.wakeAll();
  }

  /** Whether `generation` is the current assignment. */
  isCurrent(generation: number): boolean {
    return generation === this.generation && this.splits !== undefined;
  }

  /** The splits of `generation` while it is the current assignment; StaleAssignmentError otherwise. */
  splitsOf(generation: number): readonly string[] {
    if (!this.isCurrent(generation) || this.splits === undefined) throw new StaleAssignmentError(`assignment ${generation} is no longer current (the group rebalanced meanwhile)`);
    return this.splits;
  }

  /** The next assignment not taken yet; waits for it. Rejects when `signal` aborts or the group failed. */
  async take(signal: AbortSignal): Promise<SplitAssignment> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new StreamlineError('stopped while waiting for an assignment');
      if (this.splits !== undefined && this.generation > this.taken) {
        this.taken = this.generation;
        return { generation: this.generation, splits: this.splits };
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Wakes every waiter (e.g. when leaving the group). */
  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
