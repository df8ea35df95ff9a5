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
  /** Versioned, key-group-organized snapshot of every state; expired entries are left out. */
  snapshot(): Uint8Array;
  /** Restores a snapshot; keeps only the key groups in `keyGroups` when given (rescaling). */
  restore(bytes: Uint8Array, keyGroups?: (keyGroup: number) => boolean): void;
}
