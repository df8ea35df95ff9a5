/**
 * Keyed state on disk, for state larger than memory (Flink's RocksDB role): a LevelDB working
 * copy per keyed operator (classic-level, prebuilt binaries from npm), read synchronously and
 * written in batches after each micro-batch. Checkpoints are the same as the heap backend's —
 * every change also goes to the binary changelog (a value state's hot keys once per segment, see
 * CoalescedValueWrites), which becomes delta files off the task thread —
 * so the two backends read each other's checkpoints and a job can switch between them.
 *
 * Memory: the LevelDB cache, the writes of the current batch and the changelog segment; not the
 * keys. Limits: a key's map-state entries form one record (fine for windows and small maps, not
 * for one huge map per key), and `keys()` is kept for map states only (an index in memory): the
 * value states this backend exists for (dedup, counters) are never enumerated.
 */
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { RestoreError, StreamlineError } from '../../../errors.js';
import type { CheckpointStore } from '../../checkpoint-store.js';
import { StateChangelog } from '../changelog/state-changelog.js';
import { decodeLegacySnapshot, type LegacyEntry, type LegacyMapEntry } from '../format/legacy-json-snapshot.js';
import type { StateBlock, StateInfo, StateKind } from '../format/state-file.js';
import { KeyCursor } from '../key-cursor.js';
import { checkMaxParallelism, DEFAULT_MAX_PARALLELISM, hashKey, inKeyGroupRange, type KeyGroupRange } from '../key-group.js';
import type { KeyedStateBackend, KeyedStateContext, KeyedStateRestore, MapState, StateDescriptor, StateKey, ValueState } from '../keyed-state-backend.js';
import type { KeyedStateSnapshot, MaterializationPolicy } from '../snapshot/incremental-snapshots.js';
import { chainBlocks } from '../snapshot/chain-blocks.js';
import type { ChainInput } from '../snapshot/snapshot-files.js';
import { SplitNames } from '../split-names.js';
import { KeyGroupOutOfRangeError, StateDeclarationError } from '../state-errors.js';
import { dbKey, decodeMapRecord, decodeValueRecord, encodeMapRecord, encodeValueRecord, parseDbKey, type MapEntryRecord, type MapRecord } from './disk-record.js';
import { DiskStateStore } from './disk-state-store.js';

/** Options of {@link DiskKeyedStateBackend}. */
export interface DiskKeyedStateBackendOptions {
  readonly maxParallelism?: number;
  readonly segmentBytes?: number;
  readonly materialization?: MaterializationPolicy;
}

/** Records looked at per batch by the TTL sweep. */
const SWEEP_STEP = 256;
/** Restored records written before waiting for LevelDB, so a restore's memory stays bounded. */
const RESTORE_DRAIN_EVERY = 50_000;

/** A declared (or restored) state. */
interface DiskTable {
  readonly name: string;
  readonly kind: StateKind;
  readonly ttlMs: number | undefined;
  readonly index: number;
  /** Map states: the keys that have entries (for `keys()`). */
  readonly keyIndex: Set<StateKey> | undefined;
}

/** {@link KeyedStateBackend} on disk; see the module comment. */
export class DiskKeyedStateBackend implements KeyedStateBackend {
  readonly maxParallelism: number;
  private readonly cursor: KeyCursor;
  private readonly now: () => number;
  private readonly splits = new SplitNames();
  private readonly tables = new Map<string, DiskTable>();
  private readonly tableList: DiskTable[] = [];
  private readonly handles = new Map<string, ValueState<unknown> | MapState<StateKey, unknown>>();
  private readonly changelog: StateChangelog;
  private readonly checkpointStore: CheckpointStore;
  private store: DiskStateStore | undefined;
  private conflicts = 0;
  /** The current key's conflict was counted already. */
  private conflictCounted = false;
  private readonly ownedRange: KeyGroupRange | undefined;

  constructor(
    private readonly context: KeyedStateContext,
    options: DiskKeyedStateBackendOptions = {},
  ) {
    this.maxParallelism = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
    checkMaxParallelism(this.maxParallelism);
    this.ownedRange = context.keyGroupRange;
    this.now = () => context.clock.now();
    this.cursor = new KeyCursor(this.now);
    this.checkpointStore = context.store;
    this.changelog = new StateChangelog({
      taskId: context.stepId,
      scope: context.scope,
      maxParallelism: this.maxParallelism,
      ...(context.keyGroupRange ? { keyGroups: context.keyGroupRange } : {}),
      ...(context.ownedSplits ? { ownedSplits: context.ownedSplits } : {}),
      writer: context.writer,
      logger: context.logger,
      ...(options.materialization ? { policy: options.materialization } : {}),
      states: () => this.tableList.map((t) => ({ name: t.name, kind: t.kind, ttlMs: t.ttlMs ?? null })),
      splits: () => this.splits.names,
    }, this.now, options.segmentBytes);
  }

  setCurrentKey(key: StateKey): void {
    if (typeof key === 'number' && !Number.isFinite(key)) throw new TypeError(`state key must be a finite number or a string, got ${key}`);
    if (key === this.cursor.key && this.cursor.set) {
      this.cursor.touch();
      return;
    }
    if (this.ownedRange !== undefined) {
      const group = hashKey(key) % this.maxParallelism;
      if (!inKeyGroupRange(this.ownedRange, group)) {
        throw new KeyGroupOutOfRangeError(`key ${JSON.stringify(key)} is in key group ${group}, outside this instance's range [${this.ownedRange.start}, ${this.ownedRange.end}]`);
      }
    }
    this.cursor.moveTo(key, this.splits.currentSplit);
    this.conflictCounted = false;
  }

  setCurrentSplit(split: string | undefined): void {
    this.splits.setCurrent(split);
    this.conflictCounted = false;
  }

  get splitConflicts(): number {
    return this.conflicts;
  }

  getCurrentKey(): StateKey {
    if (!this.cursor.set) throw new StreamlineError('getCurrentKey called before setCurrentKey');
    return this.cursor.key;
  }

  valueState<V>(descriptor: StateDescriptor): ValueState<V> {
    const table = this.declare(descriptor, 'value');
    let handle = this.handles.get(table.name) as ValueState<V> | undefined;
    if (handle === undefined) {
      handle = this.valueHandle<V>(table);
      this.handles.set(table.name, handle as ValueState<unknown>);
    }
    return handle;
  }

  mapState<K extends StateKey, V>(descriptor: StateDescriptor): MapState<K, V> {
    const table = this.declare(descriptor, 'map');
    let handle = this.handles.get(table.name) as MapState<K, V> | undefined;
    if (handle === undefined) {
      handle = this.mapHandle<K, V>(table);
      this.handles.set(table.name, handle as unknown as MapState<StateKey, unknown>);
    }
    return handle;
  }

  *keys(stateName: string): IterableIterator<StateKey> {
    const table = this.tables.get(stateName);
    if (table === undefined) return;
    if (table.keyIndex === undefined) {
      throw new StreamlineError(`keys() of value state '${stateName}' is not available on the disk state backend (it would read every key from disk); keep state that is enumerated in a map state, or use the heap backend (STATE_BACKEND=heap)`);
    }
    yield* [...table.keyIndex];
  }

  afterBatch(): void {
    const store = this.requireStore();
    if (this.tableList.some((t) => t.ttlMs !== undefined)) {
      const now = this.now();
      store.sweepStep(SWEEP_STEP, (key, record) => this.expired(key, record, now));
    }
    store.flush();
    this.changelog.afterBatch();
  }

  backpressure(): Promise<void> | undefined {
    return this.requireStore().backpressure() ?? this.changelog.snapshots.roomForWrites();
  }

  snapshot(checkpointId: number): Promise<KeyedStateSnapshot> {
    this.store?.flush();
    return this.changelog.checkpoint(checkpointId);
  }

  sharedFilesInUse(): ReadonlySet<string> {
    return this.changelog.snapshots.sharedFilesInUse();
  }

  checkpointFinished(checkpointId: number): void {
    this.changelog.snapshots.checkpointFinished(checkpointId);
  }

  async close(): Promise<void> {
    await this.changelog.snapshots.settled();
    await this.store?.close();
    this.store = undefined;
  }

  /**
   * Opens the working copy and loads it. All of one chain of this scope is adopted (later
   * checkpoints extend it); anything else is replayed as writes into the changelog, written out in
   * segments while restoring, so the state no longer depends on files another instance may delete.
   */
  async restore(inputs: readonly KeyedStateRestore[]): Promise<void> {
    const dir = join(this.context.workDir, `${this.context.scope}.${this.context.stepId}.${randomUUID().slice(0, 8)}`.replace(/[^A-Za-z0-9_.-]/g, '_'));
    this.store = await DiskStateStore.open(dir);
    // Only the owned key groups are read (a chain written for exactly those can still be extended whole).
    const range = this.ownedRange;
    const chains = inputs.map((input) => (input.kind === 'legacy' || range === undefined || input.input.keyGroups !== undefined ? input : { ...input, input: { ...input.input, keyGroups: range } }));
    const only = chains.length === 1 ? chains[0] : undefined;
    const adopt = only?.kind === 'chain' && this.changelog.snapshots.canExtend(only.input) ? only.input.chain : undefined;
    for (const input of chains) {
      if (input.kind === 'legacy') await this.restoreLegacy(input.bytes, input.split);
      else await this.restoreChain(input.input, adopt === undefined);
    }
    await this.store.drain();
    if (adopt !== undefined) this.changelog.snapshots.adopt(adopt);
    else await this.changelog.flushRestored();
  }

  private async restoreChain(input: ChainInput, replay: boolean): Promise<void> {
    const now = this.now();
    const store = this.requireStore();
    for await (const { info, block } of chainBlocks(input, this.maxParallelism, this.context.stepId, this.checkpointStore)) {
      this.applyBlock(this.tableFor(info), block, now, replay);
      // Memory stays bounded: value records go to LevelDB a batch at a time; map records, which
      // the next file's blocks read back, wait in the store until drained.
      await store.loadBackpressure();
      if (store.pendingCount >= RESTORE_DRAIN_EVERY) await store.drain();
      if (replay) await this.changelog.flushRestored(false);
    }
  }

  /**
   * Applies a restored block. Value records are loaded straight into LevelDB (nothing reads them
   * before the restore ends); a map record is read back and rewritten by each later file that
   * changes it. With `replay`, each change also goes to the changelog.
   */
  private applyBlock(table: DiskTable, block: StateBlock, now: number, replay: boolean): void {
    const store = this.requireStore();
    const split = block.split === '' ? -1 : this.splits.idOf(block.split);
    const ttl = table.ttlMs;
    const expired = (t: number | undefined) => ttl !== undefined && t !== undefined && now - t >= ttl;
    const log = replay ? this.changelog.log : undefined;
    if (table.kind === 'value') {
      for (const e of block.entries) {
        const key = dbKey(table.index, e.key);
        if (e.deleted || expired(e.writtenAt)) {
          store.load(key, null);
          log?.delete(table.index, split, e.key, undefined);
        } else {
          const writtenAt = ttl === undefined ? undefined : (e.writtenAt ?? now);
          store.load(key, encodeValueRecord({ split, writtenAt, value: e.value }));
          log?.set(table.index, split, e.key, undefined, writtenAt, e.value);
        }
      }
      return;
    }
    // Map state: the block's entries are sorted by key, so each key's map is rebuilt once.
    let i = 0;
    while (i < block.entries.length) {
      const key = block.entries[i]!.key;
      const id = dbKey(table.index, key);
      const existing = store.get(id);
      const map = existing === undefined ? new Map<StateKey, MapEntryRecord>() : decodeMapRecord(existing).entries;
      for (; i < block.entries.length && block.entries[i]!.key === key; i++) {
        const e = block.entries[i]!;
        if (e.mapKey === undefined) {
          map.clear();
          log?.clearMap(table.index, split, key);
        } else if (e.deleted || expired(e.writtenAt)) {
          map.delete(e.mapKey);
          log?.delete(table.index, split, key, e.mapKey);
        } else {
          const writtenAt = ttl === undefined ? undefined : (e.writtenAt ?? now);
          map.set(e.mapKey, { writtenAt, value: e.value });
          log?.set(table.index, split, key, e.mapKey, writtenAt, e.value);
        }
      }
      store.put(id, map.size === 0 ? null : encodeMapRecord({ split, entries: map }));
      if (map.size === 0) table.keyIndex?.delete(key);
      else table.keyIndex?.add(key);
    }
  }

  /** A snapshot of the previous (JSON) format: loaded, and written to the changelog so the first checkpoint stores it. */
  private async restoreLegacy(bytes: Uint8Array, split: string | undefined): Promise<void> {
    const doc = decodeLegacySnapshot(bytes);
    if (doc.maxParallelism !== this.maxParallelism) {
      throw new RestoreError(`keyed state snapshot has maxParallelism ${doc.maxParallelism}, this backend ${this.maxParallelism}: key groups cannot be mapped`);
    }
    const store = this.requireStore();
    const splitId = split === undefined ? -1 : this.splits.idOf(split);
    const now = this.now();
    for (const state of doc.states) {
      const table = this.tableFor({ name: state.name, kind: state.kind, ttlMs: state.ttlMs });
      const ttl = table.ttlMs;
      const live = (t: number | undefined) => !(ttl !== undefined && t !== undefined && now - t >= ttl);
      for (const [group, entries] of state.groups) {
        if (this.ownedRange !== undefined && !inKeyGroupRange(this.ownedRange, group)) continue;
        for (const entry of entries) {
          const key = entry[0];
          if (table.kind === 'value') {
            const [, value, t] = entry as LegacyEntry;
            if (!live(t)) continue;
            const writtenAt = ttl === undefined ? undefined : (t ?? now);
            store.put(dbKey(table.index, key), encodeValueRecord({ split: splitId, writtenAt, value }));
            this.changelog.log.set(table.index, splitId, key, undefined, writtenAt, value);
          } else {
            const map = new Map<StateKey, MapEntryRecord>();
            for (const [mapKey, value, t] of (entry as LegacyMapEntry)[1]) {
              if (!live(t)) continue;
              const writtenAt = ttl === undefined ? undefined : (t ?? now);
              map.set(mapKey, { writtenAt, value });
              this.changelog.log.set(table.index, splitId, key, mapKey, writtenAt, value);
            }
            if (map.size > 0) {
              store.put(dbKey(table.index, key), encodeMapRecord({ split: splitId, entries: map }));
              table.keyIndex?.add(key);
            }
          }
        }
      }
      await store.drain();
    }
  }

  private requireStore(): DiskStateStore {
    if (this.store === undefined) throw new StreamlineError(`disk state of '${this.context.stepId}' used before it was opened (restore() opens it)`);
    return this.store;
  }

  private tableFor(info: StateInfo): DiskTable {
    const existing = this.tables.get(info.name);
    if (existing !== undefined) {
      if (existing.kind !== info.kind) throw new RestoreError(`state '${info.name}' is declared as ${existing.kind} state but the checkpoint holds ${info.kind} state`);
      return existing;
    }
    return this.addTable(info.name, info.kind, info.ttlMs ?? undefined);
  }

  private addTable(name: string, kind: StateKind, ttlMs: number | undefined): DiskTable {
    if (this.tableList.length >= 255) throw new StateDeclarationError(`state '${name}': the disk backend holds at most 255 states per operator`);
    const table: DiskTable = { name, kind, ttlMs, index: this.tableList.length, keyIndex: kind === 'map' ? new Set() : undefined };
    this.tables.set(name, table);
    this.tableList.push(table);
    return table;
  }

  private declare(descriptor: StateDescriptor, kind: StateKind): DiskTable {
    const { name, ttlMs } = descriptor;
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new StateDeclarationError(`state '${name}': ttlMs must be > 0, got ${ttlMs}`);
    const table = this.tables.get(name);
    if (table === undefined) return this.addTable(name, kind, ttlMs);
    if (table.kind !== kind) throw (this.handles.has(name) ? new StateDeclarationError(`state '${name}' already declared as ${table.kind} state`) : new RestoreError(`state '${name}' is declared as ${kind} state but the checkpoint holds ${table.kind} state`));
    if (table.ttlMs !== ttlMs) {
      if (this.handles.has(name)) throw new StateDeclarationError(`state '${name}' already declared with ttlMs=${table.ttlMs}`);
      // Restored with another TTL: entries keep their write times; the declaration's TTL applies from now on.
      const adopted: DiskTable = { ...table, ttlMs };
      this.tables.set(name, adopted);
      this.tableList[table.index] = adopted;
      return adopted;
    }
    return table;
  }

  /** The split a write of the current key goes under: the one its entry already has, else the current split. */
  private entrySplit(existing: number | undefined): number {
    const current = this.splits.currentSplit;
    if (existing === undefined || existing < 0) return current;
    if (current >= 0 && existing !== current && !this.conflictCounted) {
      this.conflicts++;
      this.conflictCounted = true;
    }
    return existing;
  }

  private requireKey(table: DiskTable): void {
    if (!this.cursor.set) throw new StreamlineError(`state '${table.name}' used before setCurrentKey`);
  }

  /** The TTL sweep: true when the record has expired as a whole. */
  private expired(key: Buffer, record: Buffer, now: number): boolean {
    const table = this.tableList[key[0]!];
    const ttl = table?.ttlMs;
    if (table === undefined || ttl === undefined) return false;
    if (table.kind === 'value') {
      const t = decodeValueRecord(record).writtenAt;
      return t !== undefined && now - t >= ttl;
    }
    const map = decodeMapRecord(record);
    for (const e of map.entries.values()) if (e.writtenAt === undefined || now - e.writtenAt < ttl) return false;
    table.keyIndex?.delete(parseDbKey(key).key);
    return true;
  }

  private valueHandle<V>(table: DiskTable): ValueState<V> {
    const backend = this;
    const cursor = this.cursor;
    const read = () => {
      const bytes = backend.requireStore().get(dbKey(table.index, cursor.key));
      if (bytes === undefined) return undefined;
      const record = decodeValueRecord(bytes);
      if (table.ttlMs !== undefined && record.writtenAt !== undefined && cursor.time() - record.writtenAt >= table.ttlMs) return undefined;
      return record;
    };
    return {
      get(): V | undefined {
        const record = read();
        if (record === undefined) return undefined;
        backend.entrySplit(record.split);
        return record.value as V;
      },
      set(value: V): void {
        backend.requireKey(table);
        const split = backend.entrySplit(read()?.split);
        const writtenAt = table.ttlMs === undefined ? undefined : cursor.time();
        backend.requireStore().put(dbKey(table.index, cursor.key), encodeValueRecord({ split, writtenAt, value }));
        backend.changelog.valueWrites.set(table.index, split, cursor.key, writtenAt, value);
      },
      clear(): void {
        backend.requireKey(table);
        const record = read();
        if (record === undefined) return;
        backend.requireStore().put(dbKey(table.index, cursor.key), null);
        backend.changelog.valueWrites.delete(table.index, record.split, cursor.key);
      },
    };
  }

  private mapHandle<K extends StateKey, V>(table: DiskTable): MapState<K, V> {
    const backend = this;
    const cursor = this.cursor;
    const read = (): MapRecord | undefined => {
      const bytes = backend.requireStore().get(dbKey(table.index, cursor.key));
      return bytes === undefined ? undefined : decodeMapRecord(bytes);
    };
    const live = (e: MapEntryRecord | undefined): e is MapEntryRecord =>
      e !== undefined && !(table.ttlMs !== undefined && e.writtenAt !== undefined && cursor.time() - e.writtenAt >= table.ttlMs);
    const write = (record: MapRecord) => {
      const key = dbKey(table.index, cursor.key);
      if (record.entries.size === 0) {
        backend.requireStore().put(key, null);
        table.keyIndex?.delete(cursor.key);
      } else {
        backend.requireStore().put(key, encodeMapRecord(record));
        table.keyIndex?.add(cursor.key);
      }
    };
    return {
      get(mapKey: K): V | undefined {
        const e = read()?.entries.get(mapKey);
        return live(e) ? (e.value as V) : undefined;
      },
      has(mapKey: K): boolean {
        return live(read()?.entries.get(mapKey));
      },
      set(mapKey: K, value: V): void {
        backend.requireKey(table);
        const record = read();
        const split = backend.entrySplit(record?.split);
        const entries = record?.entries ?? new Map<StateKey, MapEntryRecord>();
        const writtenAt = table.ttlMs === undefined ? undefined : cursor.time();
        entries.set(mapKey, { writtenAt, value });
        write({ split, entries });
        backend.changelog.log.set(table.index, split, cursor.key, mapKey, writtenAt, value);
      },
      delete(mapKey: K): void {
        const record = read();
        if (record === undefined || !record.entries.delete(mapKey)) return;
        write(record);
        backend.changelog.log.delete(table.index, record.split, cursor.key, mapKey);
      },
      *entries(): IterableIterator<[K, V]> {
        const record = read();
        if (record === undefined) return;
        for (const [k, e] of record.entries) if (live(e)) yield [k as K, e.value as V];
      },
      clear(): void {
        backend.requireKey(table);
        const record = read();
        if (record === undefined) return;
        write({ split: record.split, entries: new Map() });
        backend.changelog.log.clearMap(table.index, record.split, cursor.key);
      },
    };
  }
}
