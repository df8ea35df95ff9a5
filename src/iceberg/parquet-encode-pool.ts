/**
 * A small pool of worker threads that encode Parquet (and read its footer stats) off the main
 * thread, so a job's consumer, JSON parsing and operators keep running while a file is encoded.
 * Workers start lazily, are unref'd whenever they have nothing to do (an idle pool never keeps
 * the process alive) and are terminated by `close()`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ownedBytes, type EncodedParquet, type EncodeRequest, type EncodeResponse, type ParquetEncodeJob } from './parquet-encode-protocol.js';
import { IcebergError } from '../errors.js';

export type { EncodedParquet, ParquetEncodeJob } from './parquet-encode-protocol.js';

/** An encode failed in a worker, or the worker died with the encode pending. */
export class ParquetEncodeError extends IcebergError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What DataFileWriter needs from a pool (tests substitute their own). */
export interface ParquetEncodeService {
  encode(job: ParquetEncodeJob): Promise<EncodedParquet>;
}

export interface ParquetEncodePoolOptions {
  /** Worker threads (default 1: one core for encoding beside the main thread). */
  readonly size?: number;
  /** Worker module (default: the compiled parquet-encode-worker.js beside this module). */
  readonly workerUrl?: URL;
}

const DEFAULT_WORKER_URL = new URL('./parquet-encode-worker.js', import.meta.url);

interface Pending {
  readonly resolve: (value: EncodedParquet) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Set once the worker failed or exited: it takes no new jobs. */
  dead: boolean;
}

/** Worker threads encoding Arrow IPC into Parquet files with footer stats. */
export class ParquetEncodePool implements ParquetEncodeService {
  /** True when the worker module exists (false e.g. when running TypeScript sources directly). */
  static isAvailable(workerUrl: URL = DEFAULT_WORKER_URL): boolean {
    return workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));
  }

  private readonly size: number;
  private readonly workerUrl: URL;
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: ParquetEncodePoolOptions = {}) {
    this.size = options.size ?? 1;
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`ParquetEncodePool size must be a positive integer, got ${options.size}`);
    this.workerUrl = options.workerUrl ?? DEFAULT_WORKER_URL;
  }

  /** Encodes in the least busy worker; the job's IPC buffer is transferred (unusable afterwards). */
  encode(job: ParquetEncodeJob): Promise<EncodedParquet> {
    if (this.closed) return Promise.reject(new ParquetEncodeError('ParquetEncodePool is closed'));
    let slot: Slot;
    try {
      slot = this.pickSlot();
    } catch (e) {
      return Promise.reject(new ParquetEncodeError(`cannot start a Parquet encode worker: ${(e as Error).message}`, { cause: e }));
    }
    const id = this.nextId++;
    const ipc = ownedBytes(job.ipc);
    const request: EncodeRequest = { id, ipc, fields: job.fields, ...(job.parquet ? { parquet: job.parquet } : {}), ...(job.truncateLength !== undefined ? { truncateLength: job.truncateLength } : {}) };
    return new Promise<EncodedParquet>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.pending.size === 1) slot.worker.ref();
      try {
        slot.worker.postMessage(request, [ipc.buffer as ArrayBuffer]);
      } catch (e) {
        this.settle(slot, id);
        reject(new ParquetEncodeError(`cannot hand a file to the Parquet encode worker: ${(e as Error).message}`, { cause: e }));
      }
    });
  }

  /** Starts the workers now (loading and compiling the WebAssembly encoder), instead of on the first encode. */
  warm(): void {
    if (this.closed) return;
    try {
      while (this.slots.length < this.size) this.spawn();
    } catch {
      // A worker that cannot start reports it on the first encode.
    }
  }

  /** Encodes not yet answered, over all workers. */
  get pendingCount(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  /** Terminates the workers; pending encodes reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const slot of slots) this.fail(slot, new ParquetEncodeError('ParquetEncodePool closed with the encode pending'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pickSlot(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.pending.size < best.pending.size) best = s;
    if (best && (best.pending.size === 0 || this.slots.length >= this.size)) return best;
    return this.spawn();
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl);
    const slot: Slot = { worker, pending: new Map(), dead: false };
    worker.unref();
    worker.on('message', (response: EncodeResponse) => {
      const pending = this.settle(slot, response.id);
      if (!pending) return;
      if (response.ok) pending.resolve({ bytes: response.bytes, stats: response.stats });
      else {
        const error = new ParquetEncodeError(`Parquet encode failed in worker: ${response.error.name}: ${response.error.message}`);
        if (response.error.stack) error.stack = `${error.name}: ${error.message}\n    (worker) ${response.error.stack}`;
        pending.reject(error);
      }
    });
    worker.on('error', (e) => this.fail(slot, new ParquetEncodeError(`Parquet encode worker failed: ${e.message}`, { cause: e })));
    worker.on('messageerror', (e) => this.fail(slot, new ParquetEncodeError(`Parquet encode worker sent an unreadable message: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => this.fail(slot, new ParquetEncodeError(`Parquet encode worker exited (code ${code}) with the encode pending`)));
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot, id: number): Pending | undefined {
    const pending = slot.pending.get(id);
    slot.pending.delete(id);
    if (slot.pending.size === 0) slot.worker.unref();
    return pending;
  }

  /** Rejects everything pending on a worker and retires it (the next encode starts a fresh one). */
  private fail(slot: Slot, error: Error): void {
    if (!slot.dead) {
      slot.dead = true;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      void slot.worker.terminate().catch(() => undefined);
    }
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    slot.worker.unref();
    for (const p of pending) p.reject(error);
  }
}

let shared: ParquetEncodePool | undefined;
let sharedUsers = 0;

/** The process-wide pool, counted per user; pair every call with `releaseSharedParquetEncodePool()`. */
export function acquireSharedParquetEncodePool(): ParquetEncodePool {
  // One worker; a writer that wants more brings its own pool (DataFileWriterOptions.encodePool).
  shared ??= new ParquetEncodePool({ size: 1 });
  sharedUsers++;
  return shared;
}

/** Drops one use of the shared pool; the last one terminates its workers. */
export async function releaseSharedParquetEncodePool(): Promise<void> {
  if (sharedUsers === 0) return;
  if (--sharedUsers > 0 || shared === undefined) return;
  const pool = shared;
  shared = undefined;
  await pool.close();
}
