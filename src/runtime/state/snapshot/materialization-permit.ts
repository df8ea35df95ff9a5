import type { Clock } from '../../time/clock.js';

/** How often a waiting materialization looks at the permit again. */
const POLL_MS = 200;
/**
 * Longest wait before a materialization runs without the permit. The permit only spreads memory
 * and CPU over time: a holder that died without letting go (its thread terminated) must not stop
 * the others' chains from being merged for good.
 */
const PATIENCE_MS = 5 * 60_000;

/** Let go of a held permit; calling it again does nothing. */
export type PermitRelease = () => void;

/**
 * One keyed-state materialization at a time among the subtasks of a process, through a cell of
 * shared memory the coordinator gives each of them (a SharedArrayBuffer in the start message).
 *
 * Why: a materialization merges a subtask's whole chain into a new base in a thread of its own,
 * which grows to 100–130 MiB of heap and buffers at 10 M keys and keeps a core busy for seconds.
 * Subtasks fill their state at the same pace and so reached their materialization thresholds
 * together: two ran at once at the process's memory peak, beside saturated subtasks and the delta
 * writes their checkpoints wait for. One after the other, the chains are merged a little later.
 */
export class MaterializationPermit {
  private readonly cell: Int32Array;

  /** A buffer for a new set of subtasks to share. */
  static newBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  }

  constructor(
    buffer: SharedArrayBuffer,
    private readonly clock: Clock,
    private readonly pollMs = POLL_MS,
    private readonly patienceMs = PATIENCE_MS,
  ) {
    this.cell = new Int32Array(buffer, 0, 1);
  }

  /**
   * Resolves once this subtask holds the permit (or waited `patienceMs` for it, then with a release
   * that does nothing); undefined when `signal` aborted the wait.
   */
  async acquire(signal: AbortSignal): Promise<PermitRelease | undefined> {
    const deadline = this.clock.monotonic() + this.patienceMs;
    while (Atomics.compareExchange(this.cell, 0, 0, 1) !== 0) {
      if (signal.aborted) return undefined;
      if (this.clock.monotonic() >= deadline) return () => undefined;
      try {
        await this.clock.sleep(this.pollMs, signal);
      } catch {
        return undefined;
      }
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      Atomics.store(this.cell, 0, 0);
    };
  }
}
