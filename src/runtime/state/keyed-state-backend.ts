/**
 * Keyed state, partitioned by key group (Flink's scheme): a key hashes to one of
 * `maxParallelism` key groups (default 128), and snapshots are organized per key group so a
 * rescaled job can hand whole groups to another instance.
 */

import type { CheckpointStore } from '../checkpoint-store.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';
import type { KeyedStateSnapshot } from './snapshot/incremental-snapshots.js';
import type { KeyGroupRange } from './key-group.js';
import type { SnapshotFileWriter } from './snapshot/snapshot-file-writer.js';
import type { ChainInput } from './snapshot/snapshot-files.js';
import type { StateKey } from './state-key.js';

export type { StateKey } from './state-key.js';

/** Options every state declaration takes. */
export interface StateDescriptor {
  /** Unique per operator. */
  readonly name: string;
  /** Entries not written for this long expire (read as absent, dropped on snapshot). */
  readonly ttlMs?: number;
}

/** One value per key. */
export interface ValueState<V> {
  get(): V | undefined;
  set(value: V): void;
  clear(): void;
}

/** A map per key. */
export interface MapState<K extends StateKey, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  has(key: K): boolean;
  delete(key: K): void;
  entries(): IterableIterator<[K, V]>;
  clear(): void;
}

/** What to restore a backend from: a chain of state files (or a part of one), or a snapshot of the previous (JSON) format. */
export type KeyedStateRestore =
  | { readonly kind: 'chain'; readonly input: ChainInput }
  | { readonly kind: 'legacy'; readonly bytes: Uint8Array; readonly split?: string };

export interface KeyedStateBackend {
  readonly maxParallelism: number;
  /** All state access below is scoped to this key until the next call. */
  setCurrentKey(key: StateKey): void;
  getCurrentKey(): StateKey;
  valueState<V>(descriptor: StateDescriptor): ValueState<V>;
  mapState<K extends StateKey, V>(descriptor: StateDescriptor): MapState<K, V>;
  /** Keys that currently have state under `stateName` (for timers / window firing). */
  keys(stateName: string): IterableIterator<StateKey>;
  /**
   * The source split (Kafka partition) of the records being processed, or undefined. A key first
   * seen under a split belongs to it: its state is snapshotted with the split and moves with it
   * to whichever instance owns the split next (group mode).
   */
  setCurrentSplit(split: string | undefined): void;
  /**
   * Keys that arrived under another split than the one their state belongs to: the stream's key
   * does not follow the source's partitioning, so scale-out cannot keep that state consistent.
   */
  readonly splitConflicts: number;
  /** After each batch: a little TTL expiry, and a full changelog segment handed to the snapshot writer. */
  afterBatch(): void;
  /**
   * Undefined while the backend can take more input; otherwise resolves when it can again (disk
   * writes the store has not taken, changelog segments not yet stored). The task pulls no input
   * until then, so a backend that falls behind slows the job down instead of filling memory.
   */
  backpressure(): Promise<void> | undefined;
  /**
   * The barrier of `checkpointId`. The synchronous part (handing the changelog over) happens
   * before this returns and costs O(1); the promise resolves once the state is durable.
   */
  snapshot(checkpointId: number): Promise<KeyedStateSnapshot>;
  /** Restores, before any record is processed (several inputs when splits come from several checkpoints). */
  restore(inputs: readonly KeyedStateRestore[]): Promise<void>;
  /** Shared state files (`<scope>/<name>`) this backend references or is writing: retention keeps them. */
  sharedFilesInUse(): ReadonlySet<string>;
  /** Checkpoint `checkpointId` completed (retention included) or was aborted: its files are protected by its metadata alone now. */
  checkpointFinished(checkpointId: number): void;
  /** Waits for background writes, releases resources (a disk backend deletes its working copy). */
  close(): Promise<void>;
}

/** What a backend is created with. */
export interface KeyedStateContext {
  /** The keyed operator's step id. */
  readonly stepId: string;
  /** The run's checkpoint scope: where its shared state files go. */
  readonly scope: string;
  readonly store: CheckpointStore;
  /** Writes state files (in a worker when possible); shared by the run's backends. */
  readonly writer: SnapshotFileWriter;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where a disk-backed backend keeps its working copy. */
  readonly workDir: string;
  /**
   * Key groups this backend owns (a parallel subtask's share, records routed to it by key):
   * restored state of other groups is left out, and a key outside them is a routing bug.
   */
  readonly keyGroupRange?: KeyGroupRange;
  /**
   * The splits whose keys this backend holds (a parallel subtask of a source-partitioned step,
   * records never leaving their split's subtask): recorded in its chains, so that a restart
   * reading the same splits extends them.
   */
  readonly ownedSplits?: readonly string[];
}
