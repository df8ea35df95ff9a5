/**
 * One helper thread the process runs for several clients (its parallel subtasks), each talking
 * to it on a port of its own, as a Flink TaskManager's slots share its I/O threads. The Parquet
 * writer workers (ParquetWorkerHost) and the keyed-state snapshot worker (SnapshotWorkerHost) are
 * such threads. Ports handed out before the thread starts hold their requests until it does.
 * A thread that fails or exits before `close` takes what its clients had in flight with it (their
 * ports close) and is reported once; it is not replaced.
 */
import { MessageChannel, Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';

/** Host → worker, on its parent port: serve requests arriving on `port` too (one client's channel). */
export interface ServePortMessage {
  readonly type: 'serve';
  readonly port: MessagePort;
}

export interface PortServingWorkerOptions {
  /** Names the thread in errors, e.g. `a Parquet writer worker`. */
  readonly description: string;
  readonly resourceLimits?: ResourceLimits;
  /** Let the process exit while the thread idles (its clients' pending requests ref their ports). */
  readonly unref?: boolean;
  /** Hears of the thread failing or exiting before `close`. */
  readonly onLost: (error: Error) => void;
}

export class PortServingWorker {
  private worker: Worker | undefined;
  private readonly waiting: MessagePort[] = [];
  private closed = false;

  constructor(
    private readonly url: URL,
    private readonly options: PortServingWorkerOptions,
  ) {}

  /** A port to the thread for one client (transfer it to the client). */
  connect(): MessagePort {
    if (this.closed) throw new RangeError(`${this.options.description} was closed`);
    const { port1, port2 } = new MessageChannel();
    if (this.worker === undefined) this.waiting.push(port2);
    else this.serve(this.worker, port2);
    return port1;
  }

  /** Starts the thread (once) and hands it the ports connected so far. */
  start(): void {
    if (this.closed || this.worker !== undefined) return;
    const { description, resourceLimits, unref, onLost } = this.options;
    const worker = new Worker(this.url, resourceLimits === undefined ? {} : { resourceLimits });
    if (unref === true) worker.unref();
    const lost = (error: Error) => {
      if (!this.closed) onLost(error);
    };
    worker.on('error', (error) => lost(new Error(`${description} failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => lost(new Error(`${description} exited (code ${code})`)));
    this.worker = worker;
    for (const port of this.waiting.splice(0)) this.serve(worker, port);
  }

  /** Whether the thread runs. */
  get running(): boolean {
    return this.worker !== undefined && !this.closed;
  }

  /** Ends the thread; its clients' ports close with it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const port of this.waiting.splice(0)) port.close();
    await this.worker?.terminate();
  }

  private serve(worker: Worker, port: MessagePort): void {
    worker.postMessage({ type: 'serve', port } satisfies ServePortMessage, [port]);
  }
}
