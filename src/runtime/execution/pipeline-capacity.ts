/**
 * Credit-based backpressure for a job: every element waiting anywhere in the pipeline (a sink's
 * queue, an aligning union's buffer) holds one unit; sources ask for room before polling again.
 * Operators between are synchronous, so a polled batch reaches its queues before `next()`
 * returns and the count is exact.
 */
export class PipelineCapacity {
  private pending = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`capacity must be a positive integer, got ${limit}`);
  }

  get inFlight(): number {
    return this.pending;
  }

  hasRoom(): boolean {
    return this.pending < this.limit;
  }

  acquire(n = 1): void {
    this.pending += n;
  }

  release(n = 1): void {
    this.pending -= n;
    if (this.pending < this.limit && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when there is room, or at once if there already is. */
  waitForRoom(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Wakes every waiter (e.g. a barrier must be injected or the job is stopping). */
  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
