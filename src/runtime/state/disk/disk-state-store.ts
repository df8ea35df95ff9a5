import type { ClassicLevel } from 'classic-level';
import { mkdir, rm } from 'node:fs/promises';
import { StreamlineError } from '../../../errors.js';
import { lazyPackage } from '../../lazy-package.js';

/** Records handed over in one LevelDB batch at most. */
const BATCH_LIMIT = 20_000;
/**
 * Unwritten records at which the store holds input back: under a sustained stream of new keys
 * LevelDB (compactions) can take writes more slowly than a task makes them, and each record
 * waiting here costs a few hundred bytes of heap.
 */
const PENDING_LIMIT = 2 * BATCH_LIMIT;

/** classic-level and its native LevelDB, loaded with the first store (runtime/lazy-package.ts): a job with keyed state on the heap never loads them. */
const classicLevel = lazyPackage<typeof import('classic-level')>('classic-level');

/**
 * The disk backend's working copy: a LevelDB (classic-level, prebuilt binaries) in a folder of
 * its own, deleted when the run ends — durability comes from checkpoints, not from this folder.
 * Writes collect in memory and go to LevelDB in batches after each micro-batch; reads look at the
 * unwritten and in-flight writes first, then read LevelDB synchronously, so a record is visible
 * to the next read at once.
 */
export class DiskStateStore {
  private pending = new Map<string, Buffer | null>();
  private flushing: Map<string, Buffer | null> | undefined;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  private sweeper: ReturnType<ClassicLevel<Buffer, Buffer>['iterator']> | undefined;
  private sweeping = false;
  /** The batch `load` fills. */
  private loadBatch: ReturnType<ClassicLevel<Buffer, Buffer>['batch']> | undefined;
  private loadCount = 0;
  /** Load batches handed to LevelDB and not yet written, oldest first (each waits for the one before). */
  private readonly loadQueue: Promise<void>[] = [];

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly dir: string,
  ) {}

  static async open(dir: string): Promise<DiskStateStore> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const db = new (classicLevel().ClassicLevel)<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: true, errorIfExists: true });
    await db.open();
    return new DiskStateStore(db, dir);
  }

  /** The record of `key`, or undefined. */
  get(key: Buffer): Buffer | undefined {
    this.throwIfFailed();
    const id = key.toString('latin1');
    const own = this.pending.get(id);
    if (own !== undefined || this.pending.has(id)) return own ?? undefined;
    const flushing = this.flushing?.get(id);
    if (flushing !== undefined || this.flushing?.has(id)) return flushing ?? undefined;
    return this.db.getSync(key);
  }

  /** Writes (or with null deletes) a record; LevelDB gets it with the next flush. */
  put(key: Buffer, record: Buffer | null): void {
    this.pending.set(key.toString('latin1'), record);
  }

  /**
   * Writes (or with null deletes) a record straight into a LevelDB batch, past the unwritten
   * writes `get` looks at: for a restore, which writes millions of records nobody reads before it
   * ends. Its records are visible after `drain()`; a later `load` of a key overrides an earlier one.
   */
  load(key: Buffer, record: Buffer | null): void {
    this.throwIfFailed();
    const batch = (this.loadBatch ??= this.db.batch());
    if (record === null) batch.del(key);
    else batch.put(key, record);
    if (++this.loadCount >= BATCH_LIMIT) this.writeLoadBatch();
  }

  private writeLoadBatch(): void {
    const batch = this.loadBatch;
    if (batch === undefined) return;
    this.loadBatch = undefined;
    this.loadCount = 0;
    // In order: LevelDB runs concurrent batch writes in any order, and a later record must win.
    const written = (this.loadQueue.at(-1) ?? Promise.resolve()).then(() =>
      batch.write().catch((error: unknown) => {
        this.failure ??= error;
      }),
    );
    this.loadQueue.push(written);
    void written.then(() => this.loadQueue.shift());
  }

  /** Resolves once at most one full load batch waits for LevelDB: a restore's memory stays bounded while LevelDB keeps writing. */
  async loadBackpressure(): Promise<void> {
    while (this.loadQueue.length > 1) await this.loadQueue[0];
    this.throwIfFailed();
  }

  /** Unwritten writes. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Hands the writes collected so far to LevelDB, unless a batch is still in flight. */
  flush(): void {
    this.throwIfFailed();
    if (this.inFlight !== undefined || this.pending.size === 0) return;
    const batch = this.db.batch();
    const writing = new Map<string, Buffer | null>();
    for (const [id, record] of this.pending) {
      const key = Buffer.from(id, 'latin1');
      if (record === null) batch.del(key);
      else batch.put(key, record);
      writing.set(id, record);
      if (writing.size >= BATCH_LIMIT) break;
    }
    for (const id of writing.keys()) this.pending.delete(id);
    this.flushing = writing;
    this.inFlight = batch
      .write()
      .catch((error: unknown) => {
        this.failure = error;
      })
      .finally(() => {
        this.flushing = undefined;
        this.inFlight = undefined;
        // A full batch is waiting: hand it over now rather than after the task's next batch.
        if (this.failure === undefined && this.pending.size >= BATCH_LIMIT) this.flush();
      });
  }

  /**
   * Undefined while few writes wait for LevelDB; else resolves when the batch in flight was
   * written (the next one starts then), so the caller can hold its input back meanwhile.
   */
  backpressure(): Promise<void> | undefined {
    if (this.pending.size < PENDING_LIMIT) return undefined;
    this.flush();
    return this.inFlight;
  }

  /** Waits until every write so far is in LevelDB. */
  async drain(): Promise<void> {
    this.writeLoadBatch();
    await this.loadQueue.at(-1);
    for (;;) {
      await this.inFlight;
      this.throwIfFailed();
      if (this.pending.size === 0) return;
      this.flush();
    }
  }

  /**
   * One step of a continuous sweep over every record (TTL expiry): `visit` is shown up to
   * `count` records that have no unwritten change, and deletes those it returns true for. Only one
   * step runs at a time; at the end the sweep starts over.
   */
  sweepStep(count: number, visit: (key: Buffer, record: Buffer) => boolean): void {
    if (this.sweeping) return;
    this.sweeping = true;
    this.sweeper ??= this.db.iterator();
    const sweeper = this.sweeper;
    void sweeper
      .nextv(count)
      .then(async (entries) => {
        for (const [key, record] of entries as [Buffer, Buffer][]) {
          const id = key.toString('latin1');
          if (this.pending.has(id) || this.flushing?.has(id)) continue;
          if (visit(key, record)) this.pending.set(id, null);
        }
        if (entries.length < count) {
          this.sweeper = undefined;
          await sweeper.close();
        }
      })
      .catch(() => {
        this.sweeper = undefined;
      })
      .finally(() => {
        this.sweeping = false;
      });
  }

  /** Closes LevelDB and deletes the folder. */
  async close(): Promise<void> {
    await this.loadBatch?.close();
    this.loadBatch = undefined;
    await this.loadQueue.at(-1);
    await this.inFlight;
    await this.sweeper?.close().catch(() => undefined);
    this.sweeper = undefined;
    await this.db.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw new StreamlineError(`the disk state store in ${this.dir} failed: ${(this.failure as Error).message}`, { cause: this.failure });
  }
}
