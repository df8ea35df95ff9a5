/**
 * Subtask threads started with the process, before the job is loaded. A subtask thread spends
 * ~0.4 s loading the runtime and ~0.2 s loading the job module; started by the coordinator, that
 * waits until the coordinator has loaded the same modules, restored and joined its group (~0.7 s
 * into a run). Started first, both load side by side on their own cores and the subtasks read
 * ~0.6 s sooner after every start, restart and takeover (a standby's threads are loaded while it
 * waits). A thread the run does not claim (the job runs in one thread, other limits, fewer
 * subtasks) is terminated; until claimed none keeps the process alive.
 */
import type { Worker } from 'node:worker_threads';
import { spawnSubtaskWorker } from './subtask-handle.js';

interface Prestarted {
  readonly worker: Worker;
  readonly heapMb: number | undefined;
  /** The thread failed or ended before a run claimed it (it is never handed out then). */
  broken: boolean;
  readonly onError: () => void;
}

const waiting: Prestarted[] = [];
let claimed = 0;

/**
 * Starts `count` subtask threads with V8 heap limit `heapMb` and has each load the job module at
 * `jobUrl` while the coordinator loads it too.
 */
export function prestartSubtasks(count: number, heapMb: number | undefined, jobUrl: string): void {
  for (let i = 0; i < count; i++) {
    const worker = spawnSubtaskWorker(heapMb);
    const entry: Prestarted = {
      worker,
      heapMb,
      broken: false,
      onError: () => {
        entry.broken = true;
      },
    };
    // A thread that fails to load is never claimed; the run's own thread then reports why.
    worker.on('error', entry.onError);
    worker.once('exit', entry.onError);
    worker.unref();
    worker.postMessage({ type: 'preload', jobUrl });
    waiting.push(entry);
  }
}

/** A prestarted thread with heap limit `heapMb`, loaded without error, now owned by the caller; else undefined. */
export function takePrestartedSubtask(heapMb: number | undefined): Worker | undefined {
  for (let i = 0; i < waiting.length; i++) {
    const entry = waiting[i]!;
    if (entry.broken || entry.heapMb !== heapMb) continue;
    waiting.splice(i, 1);
    entry.worker.off('error', entry.onError);
    entry.worker.off('exit', entry.onError);
    entry.worker.ref();
    claimed++;
    return entry.worker;
  }
  return undefined;
}

/** Terminates the threads no run claimed. */
export function discardPrestartedSubtasks(): void {
  for (const entry of waiting.splice(0)) void entry.worker.terminate();
}

/** Prestarted threads waiting to be claimed, and claimed by runs so far in this process. */
export function prestartedSubtaskCounts(): { readonly waiting: number; readonly claimed: number } {
  return { waiting: waiting.length, claimed };
}
