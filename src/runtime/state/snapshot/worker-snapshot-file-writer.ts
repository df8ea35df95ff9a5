import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import type { CheckpointStoreSpec } from '../../checkpoint-store.js';
import { portChannel, spawnedWorkerChannel, type WorkerChannel } from '../../worker-channel.js';
import type { SnapshotFileWriter, SnapshotLane } from './snapshot-file-writer.js';
import type { SnapshotJob, SnapshotResult } from './snapshot-files.js';
import type { MaterializationPermit } from './materialization-permit.js';
import { StateLostError, StateSnapshotError } from './state-snapshot-error.js';
import { logBuffers, type SnapshotResponse } from './snapshot-worker-protocol.js';

/** The compiled snapshot worker module. */
export const SNAPSHOT_WORKER_URL = new URL('./snapshot-worker.js', import.meta.url);

/**
 * A snapshot worker's V8 heap. What it keeps alive is small (14–32 MiB in use at 10 M keys: the
 * changelogs and their index are ArrayBuffers, outside this limit), but without a limit V8 sizes
 * a thread's heap for a quarter of the machine's memory and lets garbage grow it 3–4× past what is
 * alive between collections; V8 scales that growing factor down with the limit, so with one the
 * heap grows by smaller steps. The young generation, most of an idle worker's heap, is kept to 16 MiB.
 */
const SNAPSHOT_WORKER_HEAP_MB = 256;
export const SNAPSHOT_WORKER_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: SNAPSHOT_WORKER_HEAP_MB - 16 };

interface Pending {
  readonly job: SnapshotJob;
  readonly resolve: (result: SnapshotResult) => void;
  readonly reject: (error: Error) => void;
}

/** A lane's channel (a worker of the writer's own, or a port to the process's shared worker) and its requests waiting for an answer. */
interface Slot {
  readonly channel: WorkerChannel;
  readonly pending: Map<number, Pending>;
}

/**
 * Keyed-state snapshots in worker threads, one per lane, so the task thread only hands over its
 * changelogs (transferred, not copied). Workers start lazily and are unref'd while idle; the
 * materialization lane's worker ends after each materialization. With a permit (parallel
 * subtasks), a materialization first waits until no other subtask of the process runs one. With
 * a port to the process's shared worker (parallel subtasks, SnapshotWorkerHost), both lanes go
 * there instead: a materialization merges encoded blocks one at a time (block-merge.ts), so the
 * deltas of the other subtasks wait at most for one block, and the process does not start a
 * V8 isolate for every materialization (BENCHMARKS.md, session 17).
 */
export class WorkerSnapshotFileWriter implements SnapshotFileWriter {
  /** True when the compiled worker module exists (false when running TypeScript sources directly). */
  static isAvailable(): boolean {
    return SNAPSHOT_WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(SNAPSHOT_WORKER_URL));
  }

  private readonly slots = new Map<SnapshotLane, Slot>();
  private nextId = 1;
  /** False once the shared worker's port closed. */
  private sharedPortOpen = true;
  /** Aborts materializations still waiting for the permit when the writer closes. */
  private readonly closing = new AbortController();

  constructor(
    private readonly store: CheckpointStoreSpec,
    /** Shared with the process's other subtasks: one materialization at a time among them. */
    private readonly permit?: MaterializationPermit,
    /** A port to the process's shared snapshot worker (SnapshotWorkerHost.connect), for both lanes. */
    private readonly sharedPort?: MessagePort,
  ) {}

  /**
   * Starts the lane's worker now (unref'd: it keeps nothing alive). The first checkpoint of a run
   * otherwise waited for the thread to start and load its modules: 1.0–1.1 s against 0.6–1.0 s
   * for the orders job (BENCHMARKS.md, session 14).
   */
  prestart(lane: SnapshotLane): void {
    this.slot(lane);
  }

  write(job: SnapshotJob, lane: SnapshotLane): Promise<SnapshotResult> {
    if (lane === 'materialize' && this.permit !== undefined) return this.materializeWithPermit(job, this.permit);
    return this.post(job, lane);
  }

  private async materializeWithPermit(job: SnapshotJob, permit: MaterializationPermit): Promise<SnapshotResult> {
    const release = await permit.acquire(this.closing.signal);
    // Closed while waiting: nothing was written, the chain stays as it is.
    if (release === undefined) return { chain: job.chain, changes: 0 };
    try {
      return await this.post(job, 'materialize');
    } finally {
      release();
    }
  }

  private post(job: SnapshotJob, lane: SnapshotLane): Promise<SnapshotResult> {
    const slot = this.slot(lane);
    const id = this.nextId++;
    return new Promise<SnapshotResult>((resolve, reject) => {
      slot.pending.set(id, { job, resolve, reject });
      slot.channel.ref();
      try {
        slot.channel.postMessage({ id, job, store: this.store }, logBuffers(job.logs));
      } catch (error) {
        slot.pending.delete(id);
        reject(new StateSnapshotError(`cannot hand keyed state of '${job.taskId}' to the snapshot worker: ${(error as Error).message}`, job.logs, { cause: error }));
      }
    });
  }

  /** Lanes with a worker thread running or connected (the materialization lane's ends after each job; with the shared worker, its one slot is listed as the write lane). */
  get runningLanes(): SnapshotLane[] {
    return [...this.slots.keys()];
  }

  async close(): Promise<void> {
    this.closing.abort();
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((s) => s.channel.release()));
  }

  private slot(requested: SnapshotLane): Slot {
    const shared = this.sharedPortOpen ? this.sharedPort : undefined;
    // Both lanes share the one port to the process's worker.
    const lane = shared !== undefined ? 'write' : requested;
    const existing = this.slots.get(lane);
    if (existing !== undefined) return existing;
    const slot = shared !== undefined ? this.sharedSlot(lane, shared) : this.ownSlot(lane);
    this.slots.set(lane, slot);
    return slot;
  }

  /** The lane's answers and its end: an answered request settles; the end fails whatever is still waiting. */
  private listen(lane: SnapshotLane, slot: Slot, answers: { on(event: 'message', listener: (response: SnapshotResponse) => void): unknown }): { fail: (message: string) => void; forget: () => void } {
    const { pending } = slot;
    // Only while it is this lane's slot: a worker that was let go may exit after its successor started.
    const forget = () => {
      if (this.slots.get(lane) === slot) this.slots.delete(lane);
    };
    answers.on('message', (response: SnapshotResponse) => {
      const p = pending.get(response.id);
      if (p === undefined) return;
      pending.delete(response.id);
      if (pending.size === 0) {
        slot.channel.unref();
        // Materializations are occasional (when the deltas reach 20 or outgrow the base) and a worker
        // idling between them holds its grown heap (50–100 MiB): let it go, the next one starts in a few ms.
        if (lane === 'materialize') {
          forget();
          void slot.channel.release();
        }
      }
      if (response.ok) p.resolve(response.result);
      else p.reject(new StateSnapshotError(`writing keyed state of '${p.job.taskId}' for checkpoint ${p.job.checkpointId} failed: ${response.message}`, response.logs));
    });
    const fail = (message: string) => {
      forget();
      // The changelogs went to the dead worker: nothing can write them again, the run must restore.
      for (const p of pending.values()) p.reject(new StateLostError(`keyed-state snapshot worker ${message} while writing '${p.job.taskId}'; its changelogs are lost, the job restores from the last checkpoint`));
      pending.clear();
    };
    return { fail, forget };
  }

  private ownSlot(lane: SnapshotLane): Slot {
    const worker = new Worker(SNAPSHOT_WORKER_URL, { resourceLimits: SNAPSHOT_WORKER_LIMITS });
    worker.unref();
    const slot: Slot = { channel: spawnedWorkerChannel(worker), pending: new Map() };
    const { fail, forget } = this.listen(lane, slot, worker);
    worker.on('error', (error: Error & { code?: string }) =>
      fail(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `ran out of its ${SNAPSHOT_WORKER_HEAP_MB} MiB heap (a defect: what it keeps is bounded; please report it with the job's state sizes)` : `failed: ${error.message}`),
    );
    worker.on('exit', (code) => {
      if (slot.pending.size > 0) fail(`exited (code ${code})`);
      else forget();
    });
    return slot;
  }

  /** The write lane on the process's shared worker: the port closes when that worker ends. */
  private sharedSlot(lane: SnapshotLane, port: MessagePort): Slot {
    port.unref();
    const slot: Slot = { channel: portChannel(port), pending: new Map() };
    const { fail } = this.listen(lane, slot, port);
    // A closed port is not reopened: what waits on it is lost (the run restores), and a later write
    // of this lane would wait for ever on it, so it goes to a worker of the writer's own.
    port.on('close', () => {
      this.sharedPortOpen = false;
      fail('of the process ended');
    });
    return slot;
  }
}
