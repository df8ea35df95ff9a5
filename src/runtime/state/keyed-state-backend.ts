/**
 * Keyed state, partitioned by key group (Flink's scheme): a key hashes to one of
 * `maxParallelism` key groups (default 128), and snapshots are organized per key group so a
 * rescaled job can hand whole groups to another instance.
 */

export type StateKey = string | number;

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
  /** Versioned, key-group-organized snapshot of every state; expired entries are left out. */
  snapshot(): Uint8Array;
  /** The same snapshot divided by split: split id → bytes; `''` holds keys of no split. Empty parts are left out. */
  snapshotSplits(): ReadonlyMap<string, Uint8Array>;
  /**
   * Restores a snapshot; keeps only the key groups in `keyGroups` when given (rescaling). With
   * `split`, the restored keys belong to that split.
   */
  restore(bytes: Uint8Array, keyGroups?: (keyGroup: number) => boolean, split?: string): void;
}
