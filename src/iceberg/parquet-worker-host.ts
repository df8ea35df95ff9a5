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
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { intSetting } from '../runtime/int-setting.js';
import type { ServePortMessage } from './parquet-writer-protocol.js';
import { defaultParquetWorkerCount, PARQUET_WORKER_URL } from './parquet-writer-pool.js';

/** PARQUET_WORKERS: the Parquet writer workers of the whole process (default defaultParquetWorkerCount()). */
export function parquetWorkersSetting(settings: Readonly<Record<string, string | undefined>>): number {
  return intSetting(settings, 'PARQUET_WORKERS', defaultParquetWorkerCount(), 1);
}

export class ParquetWorkerHost {
  private workers: Worker[] | undefined;
  /** The far ends of the ports handed out before the workers started, by worker. */
  private readonly waiting: MessagePort[][];
  private closed = false;

  constructor(
    /** Workers the process runs. */
    readonly size: number,
    /** Hears of a worker that failed or exited before `close`. */
    private readonly onWorkerLost: (error: Error) => void = () => undefined,
    private readonly workerUrl: URL = PARQUET_WORKER_URL,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`ParquetWorkerHost size must be a positive integer, got ${size}`);
    this.waiting = Array.from({ length: size }, () => []);
  }

  /**
   * One port to each worker, for one subtask (transfer them to it). Requests sent on them before
   * the workers start wait in the port until they do.
   */
  connect(): MessagePort[] {
    if (this.closed) throw new RangeError('ParquetWorkerHost is closed');
    return this.waiting.map((waiting, index) => {
      const { port1, port2 } = new MessageChannel();
      if (this.workers === undefined) waiting.push(port2);
      else this.serve(this.workers[index]!, port2);
      return port1;
    });
  }

  /** Starts the workers (once) and hands them the ports connected so far. */
  start(): void {
    if (this.closed || this.workers !== undefined) return;
    this.workers = this.waiting.map((waiting) => {
      const worker = new Worker(this.workerUrl);
      worker.on('error', (error) => this.lost(new Error(`a Parquet writer worker failed: ${error.message}`, { cause: error })));
      worker.on('exit', (code) => this.lost(new Error(`a Parquet writer worker exited (code ${code})`)));
      for (const port of waiting.splice(0)) this.serve(worker, port);
      return worker;
    });
  }

  /** Whether the workers are running. */
  get started(): boolean {
    return this.workers !== undefined && !this.closed;
  }

  /** Ends the workers; the subtasks' ports close with them. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.waiting) for (const port of waiting.splice(0)) port.close();
    const workers = this.workers ?? [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private serve(worker: Worker, port: MessagePort): void {
    worker.postMessage({ type: 'serve', port } satisfies ServePortMessage, [port]);
  }

  private lost(error: Error): void {
    if (!this.closed) this.onWorkerLost(error);
  }
}
