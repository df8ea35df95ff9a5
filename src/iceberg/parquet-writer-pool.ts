/**
 * Worker threads that encode and upload Parquet data files, so a job's consumer, JSON parsing and
 * operators keep their thread. Each open file lives on one worker (the one with the fewest
 * open files when it was opened): the pool sends it sealed Arrow batches (IPC buffers,
 * transferred) and gets back, at close, only the file's size and statistics.
 *
 * A pool either spawns its workers (lazily, unref'd whenever nothing is pending, so an idle pool
 * never keeps the process alive; terminated by `close()`), or is given ports to workers a
 * ParquetWorkerHost runs for the whole process: the parallel subtasks of a process share its
 * workers instead of each starting its own (a worker holds 60–80 MiB: its heap and the encoder's
 * WebAssembly memory, which never shrinks).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { FileIODescription } from './file-io.js';
import { ParquetWriteError, type OpenParquetFile, type ParquetFileSpec, type WrittenParquetFile } from './open-parquet-file.js';
import { portChannel, spawnedWorkerChannel, type WorkerChannel } from '../runtime/worker-channel.js';
import { ownedBytes, type SerializedError, type WriterMessage, type WriterRequestBody, type WriterResponse } from './parquet-writer-protocol.js';

/** Most workers a pool starts by default, however many cores there are. */
const MAX_DEFAULT_WORKERS = 4;

/** One core stays with the main thread; at least one worker, at most MAX_DEFAULT_WORKERS. */
export function defaultParquetWorkerCount(): number {
  return Math.min(MAX_DEFAULT_WORKERS, Math.max(1, availableParallelism() - 1));
}

export interface ParquetWriterPoolOptions {
  /** Worker threads (default defaultParquetWorkerCount()); with `ports`, their number. */
  readonly size?: number;
  /** Worker module (default: the compiled parquet-writer-worker.js beside this module). */
  readonly workerUrl?: URL;
  /**
   * Ports to workers someone else runs (ParquetWorkerHost.connect): the pool spawns none, and a
   * worker that is gone stays gone. `onFirstUse` runs once, when the pool is warmed or opens its
   * first file (the host starts its workers then).
   */
  readonly ports?: readonly MessagePort[];
  readonly onFirstUse?: () => void;
}

/** The compiled worker module. */
export const PARQUET_WORKER_URL = new URL('./parquet-writer-worker.js', import.meta.url);

type Pending = { readonly resolve: (response: WriterResponse & { ok: true }) => void; readonly reject: (error: Error) => void };

interface Slot {
  /** A worker the pool spawned, or a port to a worker it was given. */
  readonly channel: WorkerChannel;
  readonly pending: Map<number, Pending>;
  /** Failure listeners of the files open on this worker. */
  readonly listeners: Map<number, (error: unknown) => void>;
  openFiles: number;
  /** Set once the worker failed or exited: its files are lost and it takes no new ones. */
  dead: Error | undefined;
}

/** What a DataFileWriter needs from a pool (tests substitute their own). */
export interface ParquetFileOpener {
  /** `onFailure` hears of a failure of the file that no pending call reports. */
  open(spec: ParquetFileSpec, io: FileIODescription, onFailure: (error: unknown) => void): OpenParquetFile;
}

/** Worker threads writing Parquet files. */
export class ParquetWriterPool implements ParquetFileOpener {
  /** True when the worker module exists (false e.g. when running TypeScript sources directly). */
  static isAvailable(workerUrl: URL = PARQUET_WORKER_URL): boolean {
    return workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));
  }

  readonly size: number;
  private readonly workerUrl: URL;
  private readonly slots: Slot[] = [];
  /** Whether the pool spawns workers (false: it was given ports). */
  private readonly spawns: boolean;
  private onFirstUse: (() => void) | undefined;
  private nextId = 1;
  private nextFile = 1;
  private closed = false;

  constructor(options: ParquetWriterPoolOptions = {}) {
    this.size = options.ports?.length ?? options.size ?? defaultParquetWorkerCount();
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`ParquetWriterPool size must be a positive integer, got ${options.ports ? 'no ports' : options.size}`);
    this.workerUrl = options.workerUrl ?? PARQUET_WORKER_URL;
    this.spawns = options.ports === undefined;
    this.onFirstUse = options.onFirstUse;
    for (const port of options.ports ?? []) this.attach(port);
  }

  /** Opens a file on the worker with the fewest open files; `io` says how that worker reaches storage. */
  open(spec: ParquetFileSpec, io: FileIODescription, onFailure: (error: unknown) => void): OpenParquetFile {
    if (this.closed) throw new ParquetWriteError('ParquetWriterPool is closed');
    this.firstUse();
    let slot: Slot;
    try {
      slot = this.pickSlot();
    } catch (e) {
      if (e instanceof ParquetWriteError) throw e;
      throw new ParquetWriteError(`cannot start a Parquet writer worker: ${(e as Error).message}`, { cause: e });
    }
    const file = this.nextFile++;
    slot.openFiles++;
    slot.listeners.set(file, onFailure);
    const opened = this.request(slot, { type: 'open', file, spec, io });
    opened.catch(() => undefined); // reported by the file's next request
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      slot.openFiles--;
      slot.listeners.delete(file);
    };
    // Every later request of the file reports a failed open first.
    const after = <T>(response: Promise<T>): Promise<T> => Promise.all([opened, response]).then(([, r]) => r);
    return {
      write: (ipc) => {
        const bytes = ownedBytes(ipc);
        return after(this.request(slot, { type: 'write', file, ipc: bytes }, [bytes.buffer as ArrayBuffer])).then((r) => r.bytesWritten ?? 0);
      },
      close: () => after(this.request(slot, { type: 'close', file })).then((r) => r.written as WrittenParquetFile).finally(finished),
      // A dead worker took the file with it: there is nothing left to abort.
      abort: () => this.request(slot, { type: 'abort', file }).then(() => undefined, () => undefined).finally(finished),
    };
  }

  /** Starts the workers now (loading and compiling the WebAssembly encoder), instead of on the first file. */
  warm(): void {
    if (this.closed) return;
    this.firstUse();
    if (!this.spawns) return;
    try {
      while (this.slots.length < this.size) this.spawn();
    } catch {
      // A worker that cannot start reports it when the first file is opened.
    }
  }

  /** Terminates the workers; pending requests reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const slot of slots) this.fail(slot, new ParquetWriteError('ParquetWriterPool closed with requests pending'));
    await Promise.all(slots.map((s) => s.channel.release()));
  }

  private firstUse(): void {
    const hook = this.onFirstUse;
    this.onFirstUse = undefined;
    hook?.();
  }

  private request(slot: Slot, message: WriterRequestBody, transfer: ArrayBuffer[] = []): Promise<WriterResponse & { ok: true }> {
    if (slot.dead) return Promise.reject(slot.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.pending.size === 1) slot.channel.ref();
      try {
        slot.channel.postMessage({ ...message, id }, transfer);
      } catch (e) {
        this.settle(slot, id);
        reject(new ParquetWriteError(`cannot send a request to the Parquet writer worker: ${(e as Error).message}`, { cause: e }));
      }
    });
  }

  private pickSlot(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.openFiles < best.openFiles) best = s;
    if (best && (best.openFiles === 0 || this.slots.length >= this.size || !this.spawns)) return best;
    if (!this.spawns) throw new ParquetWriteError("every Parquet writer worker of the process has exited; the job restarts from its last checkpoint (the worker's exit is in the log)");
    return this.spawn();
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl);
    worker.unref();
    const slot = this.track(spawnedWorkerChannel(worker), worker);
    worker.on('error', (e) => this.fail(slot, new ParquetWriteError(`Parquet writer worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => this.fail(slot, new ParquetWriteError(`Parquet writer worker exited (code ${code}); the files it had open are lost`)));
    return slot;
  }

  /** A slot on a port to a worker the process's ParquetWorkerHost runs. */
  private attach(port: MessagePort): Slot {
    port.unref();
    const slot = this.track(portChannel(port), port);
    // The port closes when the worker ends (or the host lets it go): its files are lost.
    port.on('close', () => this.fail(slot, new ParquetWriteError('the Parquet writer worker this subtask shares with the others of the process exited; the files it had open are lost')));
    return slot;
  }

  private track(channel: WorkerChannel, events: Worker | MessagePort): Slot {
    const slot: Slot = { channel, pending: new Map(), listeners: new Map(), openFiles: 0, dead: undefined };
    events.on('message', (message: WriterMessage) => {
      if (message.type === 'file-failed') {
        slot.listeners.get(message.file)?.(workerError(message.error));
        return;
      }
      const pending = this.settle(slot, message.id);
      if (!pending) return;
      if (message.ok) pending.resolve(message);
      else pending.reject(workerError(message.error));
    });
    events.on('messageerror', (e: Error) => this.fail(slot, new ParquetWriteError(`Parquet writer worker sent an unreadable message: ${e.message}`, { cause: e })));
    // `on('message')` refs a port; only pending requests should keep the thread alive.
    channel.unref();
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot, id: number): Pending | undefined {
    const pending = slot.pending.get(id);
    slot.pending.delete(id);
    if (slot.pending.size === 0) slot.channel.unref();
    return pending;
  }

  /** Rejects everything pending on a worker and retires it (the next file starts on a fresh one). */
  private fail(slot: Slot, error: Error): void {
    if (!slot.dead) {
      slot.dead = error;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      void slot.channel.release().catch(() => undefined);
    }
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    slot.channel.unref();
    for (const p of pending) p.reject(error);
    for (const listener of slot.listeners.values()) listener(error);
    slot.listeners.clear();
  }
}

function workerError(serialized: SerializedError): ParquetWriteError {
  const error = new ParquetWriteError(`Parquet writer worker: ${serialized.name}: ${serialized.message}`);
  if (serialized.stack) error.stack = `${error.name}: ${error.message}\n    (worker) ${serialized.stack}`;
  return error;
}

let shared: ParquetWriterPool | undefined;
let sharedUsers = 0;
/** Set in a parallel subtask: the pool on the process's shared workers, which lives as long as the thread. */
let installed: ParquetWriterPool | undefined;

/**
 * Makes the pool on `ports` (to the workers of the process's ParquetWorkerHost) this thread's
 * shared pool, for a parallel subtask: its writers then use those workers, whatever size they ask.
 */
export function installSharedParquetWriterPorts(ports: readonly MessagePort[], onFirstUse: () => void): void {
  installed = new ParquetWriterPool({ ports, onFirstUse });
}

/**
 * The process-wide pool, counted per user; pair every call with `releaseSharedParquetWriterPool()`.
 * `size` applies when this call creates it (the first user's wins); a subtask's installed pool
 * has the host's size.
 */
export function acquireSharedParquetWriterPool(size?: number): ParquetWriterPool {
  if (installed !== undefined) return installed;
  shared ??= new ParquetWriterPool(size === undefined ? {} : { size });
  sharedUsers++;
  return shared;
}

/** Drops one use of the shared pool; the last one terminates its workers (an installed pool stays). */
export async function releaseSharedParquetWriterPool(): Promise<void> {
  if (installed !== undefined) return;
  if (sharedUsers === 0) return;
  if (--sharedUsers > 0 || shared === undefined) return;
  const pool = shared;
  shared = undefined;
  await pool.close();
}
