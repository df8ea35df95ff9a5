/**
 * Where a client's requests to a helper thread go: a worker the client spawned, or a port to a
 * worker the process runs for several subtasks (ParquetWorkerHost, SnapshotWorkerHost). The
 * Parquet writer pool and the keyed-state snapshot writer talk to either through this.
 */
import type { MessagePort, Worker } from 'node:worker_threads';

export interface WorkerChannel {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  ref(): void;
  unref(): void;
  /** Ends the worker (spawned) or lets go of it (port). */
  release(): Promise<void>;
}

/** A worker of the client's own: releasing it terminates it. */
export function spawnedWorkerChannel(worker: Worker): WorkerChannel {
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    release: () => worker.terminate().then(() => undefined),
  };
}

/** A port to a worker someone else runs: releasing it closes the port, the worker goes on. */
export function portChannel(port: MessagePort): WorkerChannel {
  return {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    ref: () => port.ref(),
    unref: () => port.unref(),
    release: async () => port.close(),
  };
}
