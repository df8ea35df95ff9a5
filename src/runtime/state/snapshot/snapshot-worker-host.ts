/**
 * The keyed-state snapshot worker that the parallel subtasks of a process share for their write
 * lane (as they share the Parquet workers, ParquetWorkerHost): the coordinator runs it, each
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
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { ServeSnapshotPort } from './snapshot-worker-protocol.js';
import { SNAPSHOT_WORKER_LIMITS, SNAPSHOT_WORKER_URL } from './worker-snapshot-file-writer.js';

export class SnapshotWorkerHost {
  private worker: Worker | undefined;
  private closed = false;

  constructor(
    /** Hears of the worker failing or exiting before `close`. */
    private readonly onWorkerLost: (error: Error) => void = () => undefined,
    private readonly workerUrl: URL = SNAPSHOT_WORKER_URL,
  ) {}

  /** A port to the worker for one subtask's write lane (transfer it to the subtask); starts the worker once. */
  connect(): MessagePort {
    if (this.closed) throw new RangeError('SnapshotWorkerHost is closed');
    const { port1, port2 } = new MessageChannel();
    this.started().postMessage({ type: 'serve', port: port2 } satisfies ServeSnapshotPort, [port2]);
    return port1;
  }

  /** Whether the worker runs. */
  get running(): boolean {
    return this.worker !== undefined && !this.closed;
  }

  /** Ends the worker; the subtasks' ports close with it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker?.terminate();
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(this.workerUrl, { resourceLimits: SNAPSHOT_WORKER_LIMITS });
    // Idle between checkpoints: it keeps nothing alive; the subtasks' pending writes ref their ports.
    worker.unref();
    worker.on('error', (error) => this.lost(new Error(`the process's keyed-state snapshot worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.lost(new Error(`the process's keyed-state snapshot worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private lost(error: Error): void {
    if (!this.closed) this.onWorkerLost(error);
  }
}
