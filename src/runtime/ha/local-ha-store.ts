/**
 * File-based HA store for processes on one machine (the embedded default).
 *
 * Each job's state (lease + one checkpoint pointer per checkpoint location) is an append-only series of files
 * `<dir>/<job>/state.<seq>.json`. An update from version n creates version n+1 by hard-linking a
 * fully written, fsynced temp file to that name; the link fails if the name exists, which is a
 * compare-and-swap without locks. A process frozen mid-update (SIGSTOP) therefore cannot clobber
 * a newer state when it resumes: its link fails and it re-reads.
 */
import { randomUUID } from 'node:crypto';
import { access, link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamlineError } from '../../errors.js';
import type { CheckpointPointer, HaStore, Lease, LeaseHolder } from '../ha-store.js';
import { assertJobName } from '../checkpoint/checkpoint-layout.js';
import { leaseLost, pointerNotNewer, staleToken } from './ha-refusals.js';
import type { WallClock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';

/** The HA state file of a job cannot be parsed. */
export class HaStateCorruptError extends StreamlineError {}

interface StoredPointer {
  readonly checkpointId: number;
  readonly location: string;
  readonly fencingToken: string;
}

interface StoredState {
  readonly lease?: { owner: string; expiresAt: number; fencingToken: string };
  /** Checkpoint location (a checkpoint store's URI) → its pointer. */
  readonly pointers?: Readonly<Record<string, StoredPointer>>;
  // A `pointer` field written by earlier versions (one per job, whatever the location) is ignored:
  // a start without a pointer restores the newest readable checkpoint of its location.
}

interface Versioned {
  readonly seq: number;
  readonly state: StoredState;
}

/** Options of LocalHaStore; `clock` exists so tests can move time without sleeping. */
export interface LocalHaStoreOptions {
  readonly clock?: WallClock;
  /** Old state versions kept for post-mortem reading. */
  readonly keepVersions?: number;
}

const STATE_FILE = /^state\.(\d+)\.json$/;
const MAX_CAS_ATTEMPTS = 1000;

/** HaStore on a local directory, safe across processes of one machine. */
export class LocalHaStore implements HaStore {
  readonly uri: string;
  readonly dir: string;
  private readonly clock: WallClock;
  private readonly keepVersions: number;

  constructor(dir: string, options: LocalHaStoreOptions = {}) {
    this.dir = resolve(dir);
    this.uri = pathToFileURL(this.dir).href;
    this.clock = options.clock ?? systemClock;
    this.keepVersions = options.keepVersions ?? 16;
  }

  async tryAcquire(jobName: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    assertTtl(ttlMs);
    return this.update(jobName, (state) => {
      const now = this.clock.now();
      const held = state.lease;
      if (held !== undefined && held.owner !== owner && held.expiresAt > now) return { result: undefined };
      const lease: Lease = { jobName, owner, fencingToken: BigInt(held?.fencingToken ?? '0') + 1n, expiresAt: now + ttlMs };
      return { result: lease, next: { ...state, lease: storedLease(lease) } };
    });
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    assertTtl(ttlMs);
    return this.update(lease.jobName, (state) => {
      if (!holds(state, lease)) throw leaseLost(lease, holderView(state));
      const renewed: Lease = { ...lease, expiresAt: this.clock.now() + ttlMs };
      return { result: renewed, next: { ...state, lease: storedLease(renewed) } };
    });
  }

  async release(lease: Lease): Promise<void> {
    await this.update(lease.jobName, (state) => {
      if (!holds(state, lease)) return { result: undefined };
      // Keep owner and token: the token must keep increasing after a release.
      return { result: undefined, next: { ...state, lease: storedLease({ ...lease, expiresAt: 0 }) } };
    });
  }

  async readLease(jobName: string): Promise<LeaseHolder | undefined> {
    const lease = (await this.read(jobName)).state.lease;
    return lease && { owner: lease.owner, fencingToken: BigInt(lease.fencingToken), expiresAt: lease.expiresAt };
  }

  async readPointer(jobName: string, checkpoints: string): Promise<CheckpointPointer | undefined> {
    const pointer = pointerAt((await this.read(jobName)).state, checkpoints);
    return pointer && { checkpointId: pointer.checkpointId, location: pointer.location, fencingToken: BigInt(pointer.fencingToken) };
  }

  async publishPointer(lease: Lease, checkpoints: string, pointer: Omit<CheckpointPointer, 'fencingToken'>): Promise<void> {
    assertCheckpointsUri(checkpoints);
    await this.update(lease.jobName, (state) => {
      if (!holds(state, lease)) throw staleToken(lease, pointer.checkpointId, holderView(state));
      const published = pointerAt(state, checkpoints);
      if (published !== undefined && published.checkpointId >= pointer.checkpointId) {
        const sameWrite = published.checkpointId === pointer.checkpointId && published.location === pointer.location &&
          published.fencingToken === lease.fencingToken.toString();
        if (sameWrite) return { result: undefined }; // a retried publish
        throw pointerNotNewer(lease, checkpoints, pointer.checkpointId, published.checkpointId);
      }
      const next: StoredPointer = { checkpointId: pointer.checkpointId, location: pointer.location, fencingToken: lease.fencingToken.toString() };
      return { result: undefined, next: { ...state, pointers: { ...state.pointers, [checkpoints]: next } } };
    });
  }

  async currentToken(jobName: string): Promise<bigint> {
    return BigInt((await this.read(jobName)).state.lease?.fencingToken ?? '0');
  }

  async close(): Promise<void> {}

  private jobDir(jobName: string): string {
    assertJobName(jobName);
    return join(this.dir, jobName);
  }

  private async read(jobName: string): Promise<Versioned> {
    const dir = this.jobDir(jobName);
    for (let attempt = 0; ; attempt++) {
      const seq = await latestSeq(dir);
      if (seq === 0) return { seq, state: {} };
      try {
        const text = await readFile(join(dir, stateFileName(seq)), 'utf8');
        return { seq, state: parseState(text, join(dir, stateFileName(seq))) };
      } catch (err) {
        // Pruned between readdir and read by a faster writer: look again.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 10) continue;
        throw err;
      }
    }
  }

  private async update<T>(jobName: string, decide: (state: StoredState) => { result: T; next?: StoredState }): Promise<T> {
    const dir = this.jobDir(jobName);
    await mkdir(dir, { recursive: true });
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const { seq, state } = await this.read(jobName);
      const { result, next } = decide(state);
      if (next === undefined) return result;
      if (await writeVersion(dir, seq, next)) {
        await this.pruneVersions(dir, seq + 1);
        return result;
      }
    }
    throw new StreamlineError(`HA state of job '${jobName}' in ${dir} kept changing; gave up after ${MAX_CAS_ATTEMPTS} attempts`, { retriable: true });
  }

  // Deletes in ascending order, so "version n+1 is gone" implies "version n is gone" (see writeVersion).
  private async pruneVersions(dir: string, newest: number): Promise<void> {
    const oldest = newest - this.keepVersions;
    if (oldest <= 0) return;
    const doomed = (await readdir(dir))
      .map((name) => STATE_FILE.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .map(Number)
      .filter((seq) => seq < oldest)
      .sort((a, b) => a - b);
    for (const seq of doomed) await unlink(join(dir, stateFileName(seq))).catch(() => undefined);
  }
}

function pointerAt(state: StoredState, checkpoints: string): StoredPointer | undefined {
  return Object.hasOwn(state.pointers ?? {}, checkpoints) ? state.pointers![checkpoints] : undefined;
}

function assertCheckpointsUri(checkpoints: string): void {
  if (checkpoints === '') throw new StreamlineError('an HA pointer needs the checkpoint location it belongs to');
}

function holds(state: StoredState, lease: Lease): boolean {
  return state.lease?.owner === lease.owner && state.lease.fencingToken === lease.fencingToken.toString();
}

function holderView(state: StoredState): { owner?: string; fencingToken?: bigint; expiresAt?: number } | undefined {
  const lease = state.lease;
  return lease && { owner: lease.owner, fencingToken: BigInt(lease.fencingToken), expiresAt: lease.expiresAt };
}

function storedLease(lease: Lease): NonNullable<StoredState['lease']> {
  return { owner: lease.owner, expiresAt: lease.expiresAt, fencingToken: lease.fencingToken.toString() };
}

function stateFileName(seq: number): string {
  return `state.${String(seq).padStart(12, '0')}.json`;
}

async function latestSeq(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let max = 0;
  for (const name of names) {
    const match = STATE_FILE.exec(name);
    if (match) max = Math.max(max, Number(match[1]));
  }
  return max;
}

function parseState(text: string, path: string): StoredState {
  try {
    return JSON.parse(text) as StoredState;
  } catch (err) {
    throw new HaStateCorruptError(`HA state file ${path} is not valid JSON; inspect or delete it`, { cause: err });
  }
}

// Writes version base+1; returns false when another process got there first. If version `base`
// was pruned meanwhile (this process was frozen while many updates happened) the new file would
// resurrect an old number that nobody reads, so it is withdrawn and the caller re-reads.
async function writeVersion(dir: string, base: number, state: StoredState): Promise<boolean> {
  const seq = base + 1;
  const tempPath = join(dir, `.state.tmp-${randomUUID()}`);
  const handle = await open(tempPath, 'wx');
  try {
    await handle.writeFile(JSON.stringify(state));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tempPath, join(dir, stateFileName(seq)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tempPath).catch(() => undefined);
  }
  if (base > 0 && !(await exists(join(dir, stateFileName(base))))) {
    await unlink(join(dir, stateFileName(seq))).catch(() => undefined);
    return false;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return true;
}

function assertTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new StreamlineError(`lease TTL must be a positive number of milliseconds, got ${ttlMs}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
