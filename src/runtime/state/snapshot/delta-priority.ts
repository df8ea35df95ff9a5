/**
 * Deltas before materializations on a worker that runs both (the process's shared snapshot
 * worker, SnapshotWorkerHost): a delta is on its checkpoint's critical path, a materialization is
 * not. Sharing one thread, a materialization stretched the deltas written beside it (the longest
 * checkpoint of a 10 M-key run went from 610–680 to 830–1,180 ms; BENCHMARKS.md, session 17), so
 * it gives way between blocks while any delta is being written.
 */
export class DeltaPriority {
  private deltas = 0;
  private readonly waiting: (() => void)[] = [];

  /** Runs a delta write; materializations wait at their next block meanwhile. */
  async delta<T>(write: () => Promise<T>): Promise<T> {
    this.deltas++;
    try {
      return await write();
    } finally {
      if (--this.deltas === 0) for (const wake of this.waiting.splice(0)) wake();
    }
  }

  /**
   * A materialization's pause between blocks: one turn of the event loop, so requests that
   * arrived meanwhile start, then a wait until no delta is being written.
   */
  async giveWay(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.deltas > 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
}
