/**
 * The Parquet writer workers of a process whose parallel subtasks share them (as a Flink
 * TaskManager's slots share its I/O threads): the coordinator runs them, each subtask gets a port
 * to every one (`connect`) and opens its files on the one with the fewest of its own. Without it,
 * every subtask would start workers of its own, each holding 60–80 MiB.
 *
 * The workers start when a subtask first needs one (`start`), so a job without an Iceberg sink
 * starts none. A worker that dies takes the files of every subtask on it (their ports close, their
 * sinks fail, the run restores); the host does not replace it within the run.
 */
import type { MessagePort } from 'node:worker_threads';
import { intSetting } from '../runtime/int-setting.js';
import { PortServingWorker } from '../runtime/port-serving-worker.js';
import { defaultParquetWorkerCount, PARQUET_WORKER_URL } from './parquet-writer-pool.js';

/** PARQUET_WORKERS: the Parquet writer workers of the whole process (default defaultParquetWorkerCount()). */
export function parquetWorkersSetting(settings: Readonly<Record<string, string | undefined>>): number {
  return intSetting(settings, 'PARQUET_WORKERS', defaultParquetWorkerCount(), 1);
}

export class ParquetWorkerHost {
  private readonly workers: PortServingWorker[];

  constructor(
    /** Workers the process runs. */
    readonly size: number,
    /** Hears of a worker that failed or exited before `close`. */
    onWorkerLost: (error: Error) => void = () => undefined,
    workerUrl: URL = PARQUET_WORKER_URL,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`ParquetWorkerHost size must be a positive integer, got ${size}`);
    this.workers = Array.from({ length: size }, () => new PortServingWorker(workerUrl, { description: 'a Parquet writer worker', onLost: onWorkerLost }));
  }

  /**
   * One port to each worker, for one subtask (transfer them to it). Requests sent on them before
   * the workers start wait in the port until they do. Refused once the host is closed.
   */
  connect(): MessagePort[] {
    return this.workers.map((worker) => worker.connect());
  }

  /** Starts the workers (once) and hands them the ports connected so far. */
  start(): void {
    for (const worker of this.workers) worker.start();
  }

  /** Whether the workers are running. */
  get started(): boolean {
    return this.workers.every((worker) => worker.running);
  }

  /** Ends the workers; the subtasks' ports close with them. Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
