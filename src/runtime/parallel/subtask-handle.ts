import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type MessagePort } from 'node:worker_threads';
import { FencedError, StreamlineError } from '../../errors.js';
import type { Clock } from '../time/clock.js';
import type { FromSubtask, ToSubtask, WireError } from './subtask-protocol.js';
import { subtaskOutOfHeapMessage, subtaskResourceLimits } from './subtask-heap.js';

const WORKER_URL = new URL('./subtask-worker.js', import.meta.url);

/** A new subtask thread (it loads the runtime, then waits for `preload` or `start`); `heapMb` as SubtaskHandle's. */
export function spawnSubtaskWorker(heapMb: number | undefined): Worker {
  return new Worker(WORKER_URL, { stdout: false, stderr: false, ...(heapMb === undefined ? {} : { resourceLimits: subtaskResourceLimits(heapMb) }) });
}

/** A subtask failed, or its thread died; the message says which subtask and why. */
export class SubtaskError extends StreamlineError {}

/** Back from the wire: fencing stays recognisable by class (FencedError), the rest keeps `retriable`. */
export function fromWireError(index: number, error: WireError): Error {
  const message = `subtask ${index}: ${error.message}`;
  if (error.fencing) return new FencedError(message);
  const result = new SubtaskError(message, { retriable: error.retriable });
  if (error.stack) result.stack = `${result.name}: ${message}\n    (subtask) ${error.stack}`;
  return result;
}

/**
 * The coordinator's handle of one subtask thread: sends messages, hands every message it gets to
 * `onMessage`, and reports a thread that dies as a failure of that subtask.
 */
export class SubtaskHandle {
  /** True when the compiled worker module exists (false when running TypeScript sources directly). */
  static isAvailable(): boolean {
    return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
  }

  private readonly worker: Worker;
  private closed = false;
  readonly exited: Promise<void>;

  constructor(
    readonly index: number,
    onMessage: (index: number, message: FromSubtask) => void,
    private readonly clock: Clock,
    /** SUBTASK_HEAP_MB: the thread's V8 heap limit; undefined leaves V8's default. */
    heapMb?: number,
    /** A thread started before the run with the same limit (subtask-prestart.ts), else a new one is started. */
    prestarted?: Worker,
  ) {
    this.worker = prestarted ?? spawnSubtaskWorker(heapMb);
    this.worker.on('message', (message: FromSubtask) => onMessage(index, message));
    this.worker.on('error', (error: Error & { code?: string }) => {
      const message = error.code === 'ERR_WORKER_OUT_OF_MEMORY' && heapMb !== undefined ? subtaskOutOfHeapMessage(heapMb) : `thread failed: ${error.message}`;
      onMessage(index, { type: 'failed', error: { name: error.name, message, fencing: false, retriable: false } });
    });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        if (!this.closed && code !== 0) onMessage(index, { type: 'failed', error: { name: 'Error', message: `thread exited with code ${code}`, fencing: false, retriable: false } });
        resolve();
      }),
    );
  }

  send(message: ToSubtask, transfer: readonly (ArrayBuffer | MessagePort)[] = []): void {
    if (this.closed) return;
    this.worker.postMessage(message, [...transfer]);
  }

  /** Asks the subtask to close (it answers `closed` and exits); terminates it after `patienceMs`. */
  async close(patienceMs: number): Promise<void> {
    if (this.closed) return this.exited;
    this.send({ type: 'close' });
    this.closed = true;
    const timer = this.clock.setTimeout(() => void this.worker.terminate(), patienceMs);
    await this.exited;
    timer.cancel();
  }

  /** Stops the thread at once (failure elsewhere). */
  async terminate(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
