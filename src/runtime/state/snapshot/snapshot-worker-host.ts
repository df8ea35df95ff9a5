/**
 * The keyed-state snapshot worker that the parallel subtasks of a process share (as they share
 * the Parquet workers, ParquetWorkerHost; both are a PortServingWorker): the coordinator runs it, each
 * subtask gets a port to it (`connect`). Each subtask used to start a worker of its own: one more
 * V8 isolate per subtask, 40–50 MiB each at 10 M keys (BENCHMARKS.md, session 15). Writing deltas
 * is I/O and encoding of what changed since the last checkpoint, small beside what a subtask's
 * thread does, so one thread serves them all. It also runs their materializations, one at a
 * time per process (MaterializationPermit): a fresh thread for each took 30–40 MiB of heap at
 * the process's memory peak besides its buffers.
 *
 * The worker starts with the first `connect`: a run whose job has no keyed state connects nothing.
 * A worker that dies takes the in-flight snapshots of every subtask with it (their ports close,
 * the writers fail those snapshots with StateLostError, the run restores); it is not replaced
 * within the run.
 */
import type { MessagePort } from 'node:worker_threads';
import { PortServingWorker } from '../../port-serving-worker.js';
import { SNAPSHOT_WORKER_LIMITS, SNAPSHOT_WORKER_URL } from './worker-snapshot-file-writer.js';

export class SnapshotWorkerHost {
  private readonly worker: PortServingWorker;

  constructor(
    /** Hears of the worker failing or exiting before `close`. */
    onWorkerLost: (error: Error) => void = () => undefined,
    workerUrl: URL = SNAPSHOT_WORKER_URL,
  ) {
    // Idle between checkpoints it keeps nothing alive (unref): the subtasks' pending writes ref their ports.
    this.worker = new PortServingWorker(workerUrl, { description: "the process's keyed-state snapshot worker", resourceLimits: SNAPSHOT_WORKER_LIMITS, unref: true, onLost: onWorkerLost });
  }

  /** A port to the worker for one subtask's snapshots (transfer it to the subtask); starts the worker once. Refused once the host is closed. */
  connect(): MessagePort {
    const port = this.worker.connect();
    this.worker.start();
    return port;
  }

  /** Whether the worker runs. */
  get running(): boolean {
    return this.worker.running;
  }

  /** Ends the worker; the subtasks' ports close with it. Idempotent. */
  async close(): Promise<void> {
    await this.worker.close();
  }
}
