import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointStore } from '../../../../../src/runtime/checkpoint-store.js';
import { LocalCheckpointStore } from '../../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { silentLogger } from '../../../../../src/runtime/logger.js';
import { DiskKeyedStateBackend, type DiskKeyedStateBackendOptions } from '../../../../../src/runtime/state/disk/disk-keyed-state-backend.js';
import { HeapKeyedStateBackend, type HeapKeyedStateBackendOptions } from '../../../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend, KeyedStateContext } from '../../../../../src/runtime/state/keyed-state-backend.js';
import { InlineSnapshotFileWriter } from '../../../../../src/runtime/state/snapshot/snapshot-file-writer.js';
import type { Clock } from '../../../../../src/runtime/time/clock.js';
import { systemClock } from '../../../../../src/runtime/time/system-clock.js';

/** Wall time tests move by assignment; timers are the system's. */
export class TestClock {
  constructor(public nowMs = 1_000_000) {}
  readonly clock: Clock = { ...systemClock, now: () => this.nowMs };
}

/** Backends sharing one real checkpoint store in a temp folder (as the runs of one job do). */
export class BackendFactory {
  readonly dir: string;
  readonly store: CheckpointStore;

  constructor(
    readonly time = new TestClock(),
    store?: CheckpointStore,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'keyed-state-'));
    this.store = store ?? new LocalCheckpointStore(this.dir);
  }

  context(stepId = 'job.op', scope = 'job', store = this.store): KeyedStateContext {
    return { stepId, scope, store, writer: new InlineSnapshotFileWriter(store, this.time.clock), clock: this.time.clock, logger: silentLogger(), workDir: this.dir };
  }

  heap(options: HeapKeyedStateBackendOptions = {}, scope = 'job'): HeapKeyedStateBackend {
    return new HeapKeyedStateBackend(this.context('job.op', scope), options);
  }

  /** A disk backend (not opened yet: `restore` opens it). */
  disk(options: DiskKeyedStateBackendOptions = {}, scope = 'job'): DiskKeyedStateBackend {
    return new DiskKeyedStateBackend(this.context('job.op', scope), options);
  }

  /** A disk backend opened empty. */
  async freshDisk(options: DiskKeyedStateBackendOptions = {}, scope = 'job'): Promise<DiskKeyedStateBackend> {
    const backend = this.disk(options, scope);
    await backend.restore([]);
    return backend;
  }

  /** A heap backend writing through another store (e.g. one that fails on purpose). */
  heapOn(store: CheckpointStore, options: HeapKeyedStateBackendOptions = {}): HeapKeyedStateBackend {
    return new HeapKeyedStateBackend(this.context('job.op', 'job', store), options);
  }
}

/** Every (key → value) of a value state, read through the backend's own API. */
export function valuesOf(backend: KeyedStateBackend, name: string, ttlMs?: number): Map<string | number, unknown> {
  const state = backend.valueState<unknown>({ name, ...(ttlMs === undefined ? {} : { ttlMs }) });
  const out = new Map<string | number, unknown>();
  for (const key of [...backend.keys(name)]) {
    backend.setCurrentKey(key);
    out.set(key, state.get());
  }
  return out;
}
