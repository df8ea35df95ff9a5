/**
 * Keyed state on the JavaScript heap — the default, for state that fits in memory. Every change
 * goes to a binary changelog, which is what checkpoints are made of: at a barrier the log is
 * handed to the snapshot writer and becomes a delta file off the main thread (see
 * IncrementalSnapshots). Nothing ever serializes the whole state on the task's thread. Value
 * states whose keys repeat log each changed key once per segment (CoalescedValueWrites): a hot
 * key costs one record per checkpoint, not one per write. Map states log every write.
 *
 * Layout: every key with state has a row (KeyRows: one lookup per record for all states, in a
 * KeyIndex that grows without a stall); each state keeps its entries in columns by row
 * (HeapStateTable).
 *
 * TTL: a write moves its key to the end of its table's write order, so each table runs oldest
 * write first and `afterBatch` expires keys from the front — the cost is the number of expired
 * keys, never a scan.
 *
 * Splits (scale-out): a key belongs to the split it was first written under (kept in its row); its
 * changelog records carry that split, so files hold blocks per split and a split's state can be
 * restored elsewhere without the rest.
 */
import { RestoreError, StreamlineError } from '../../../errors.js';
import type { CheckpointStore } from '../../checkpoint-store.js';
import { systemClock } from '../../time/system-clock.js';
import { StateChangelog } from '../changelog/state-changelog.js';
import { decodeLegacySnapshot, type LegacyEntry, type LegacyMapEntry } from '../format/legacy-json-snapshot.js';
import type { StateBlock, StateInfo, StateKind } from '../format/state-file.js';
import { KeyCursor, SPLIT_UNPLACED } from '../key-cursor.js';
import { checkMaxParallelism, DEFAULT_MAX_PARALLELISM, hashKey, inKeyGroupRange, type KeyGroupRange } from '../key-group.js';
import type { KeyedStateBackend, KeyedStateContext, KeyedStateRestore, MapState, StateDescriptor, StateKey, ValueState } from '../keyed-state-backend.js';
import type { KeyedStateSnapshot, MaterializationPolicy } from '../snapshot/incremental-snapshots.js';
import { chainBlocks } from '../snapshot/chain-blocks.js';
import type { ChainInput } from '../snapshot/snapshot-files.js';
import { SplitNames } from '../split-names.js';
import { KeyGroupOutOfRangeError, StateDeclarationError } from '../state-errors.js';
import { HeapMapState } from './heap-map-state.js';
import { HeapStateTable, type TtlEntry } from './heap-state-table.js';
import { HeapTtlValueState, HeapValueState } from './heap-value-state.js';
import { KeyRows, MAX_HEAP_KEYS, NO_ROW } from './key-rows.js';

/** Options of {@link HeapKeyedStateBackend}. */
export interface HeapKeyedStateBackendOptions {
  /** Number of key groups; must match the checkpoint being restored. Default 128. */
  readonly maxParallelism?: number;
  /**
   * Key groups this instance owns. Restores keep only these, and `setCurrentKey` rejects keys
   * outside them (a routing bug otherwise corrupts rescaling).
   */
  readonly keyGroupRange?: KeyGroupRange;
  /** A changelog segment this large is written in the background, before the barrier. Default 4 MiB. */
  readonly segmentBytes?: number;
  readonly materialization?: MaterializationPolicy;
  /** Keys held at most (default and upper bound: MAX_HEAP_KEYS); a write past it fails with StateCapacityError. */
  readonly maxKeys?: number;
}

/** Expired keys deleted (and entries swept) per batch at most: TTL work stays small and steady. */
const EXPIRY_BUDGET = 512;

/** {@link KeyedStateBackend} on the heap; see the module comment. */
export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly maxParallelism: number;
  private readonly ownedRange: KeyGroupRange | undefined;
  private readonly cursor: KeyCursor;
  private readonly now: () => number;
  private readonly splits = new SplitNames();
  private readonly rows: KeyRows;
  private readonly tables = new Map<string, HeapStateTable>();
  private readonly tableList: HeapStateTable[] = [];
  /** States created by a restore before the operator declared them. */
  private readonly provisional = new Set<string>();
  private readonly handles = new Map<string, ValueState<unknown> | MapState<StateKey, unknown>>();
  private readonly changelog: StateChangelog;
  private readonly store: CheckpointStore;
  /** hashKey of the cursor's key: its key group and its place in the key index, hashed once a key. */
  private cursorHash = 0;
  /** The current key's row for a write: a key gets one at its first write, under the split its writes go to. */
  private readonly rowForWrite = (cursor: KeyCursor): number => {
    const row = cursor.row;
    if (row === NO_ROW) return (cursor.row = this.rows.add(cursor.key, cursor.writeSplit(), this.cursorHash));
    // Restored without a split: its first write attributes it, as a new key's would.
    if (this.rows.splitAt(row) < 0) this.rows.assignSplit(row, cursor.writeSplit());
    return row;
  };

  constructor(
    private readonly context: KeyedStateContext,
    options: HeapKeyedStateBackendOptions = {},
  ) {
    this.maxParallelism = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
    checkMaxParallelism(this.maxParallelism);
    const clock = context.clock ?? systemClock;
    this.now = () => clock.now();
    const onFreed = (row: number) => {
      // The current key lost its row: a later write gives it a new one, under the split current then.
      if (this.cursor.row === row) {
        this.cursor.row = NO_ROW;
        this.cursor.split = SPLIT_UNPLACED;
      }
    };
    this.rows = new KeyRows(this.splits, onFreed, `step '${context.stepId}'`, Math.min(options.maxKeys ?? MAX_HEAP_KEYS, MAX_HEAP_KEYS));
    this.cursor = new KeyCursor(this.now, this.rows);
    this.ownedRange = options.keyGroupRange ?? context.keyGroupRange;
    this.store = context.store;
    this.changelog = new StateChangelog({
      taskId: context.stepId,
      scope: context.scope,
      maxParallelism: this.maxParallelism,
      ...(this.ownedRange ? { keyGroups: this.ownedRange } : {}),
      ...(context.ownedSplits ? { ownedSplits: context.ownedSplits } : {}),
      writer: context.writer,
      logger: context.logger,
      ...(options.materialization ? { policy: options.materialization } : {}),
      states: () => this.tableList.map((t) => t.info),
      splits: () => this.splits.names,
    }, this.now, options.segmentBytes);
  }

  setCurrentKey(key: StateKey): void {
    const cursor = this.cursor;
    if (key === cursor.key && cursor.set) {
      cursor.touch();
      // Placed again only after the split changed: a hot key costs no lookup per record.
      if (cursor.split === SPLIT_UNPLACED) cursor.split = cursor.row === NO_ROW ? this.splits.currentSplit : this.rows.placeRow(cursor.row);
      return;
    }
    if (typeof key === 'number' && !Number.isFinite(key)) throw new TypeError(`state key must be a finite number or a string, got ${key}`);
    const hash = hashKey(key);
    if (this.ownedRange !== undefined) {
      const group = hash % this.maxParallelism;
      if (!inKeyGroupRange(this.ownedRange, group)) {
        throw new KeyGroupOutOfRangeError(`key ${JSON.stringify(key)} is in key group ${group}, outside this instance's range [${this.ownedRange.start}, ${this.ownedRange.end}]`);
      }
    }
    this.cursorHash = hash;
    const row = this.rows.find(key, hash);
    cursor.moveTo(key, row === NO_ROW ? this.splits.currentSplit : this.rows.placeRow(row), row);
  }

  setCurrentSplit(split: string | undefined): void {
    this.splits.setCurrent(split);
    // The cursor's key is placed again under the new split, at its next setCurrentKey or write.
    if (this.cursor.set) this.cursor.split = SPLIT_UNPLACED;
  }

  get splitConflicts(): number {
    return this.rows.conflicts;
  }

  getCurrentKey(): StateKey {
    if (!this.cursor.set) throw new StreamlineError('getCurrentKey called before setCurrentKey');
    return this.cursor.key;
  }

  valueState<V>(descriptor: StateDescriptor): ValueState<V> {
    const table = this.declare(descriptor, 'value');
    let handle = this.handles.get(descriptor.name) as ValueState<V> | undefined;
    if (handle === undefined) {
      handle = table.ttlMs === undefined ? new HeapValueState<V>(this.cursor, table, this.changelog.valueWrites, this.rowForWrite) : new HeapTtlValueState<V>(this.cursor, table, this.changelog.valueWrites, table.ttlMs, this.rowForWrite);
      this.handles.set(descriptor.name, handle as ValueState<unknown>);
    }
    return handle;
  }

  mapState<K extends StateKey, V>(descriptor: StateDescriptor): MapState<K, V> {
    const table = this.declare(descriptor, 'map');
    let handle = this.handles.get(descriptor.name) as MapState<K, V> | undefined;
    if (handle === undefined) {
      handle = new HeapMapState<K, V>(this.cursor, table, this.changelog.log, table.ttlMs, this.rowForWrite);
      this.handles.set(descriptor.name, handle as unknown as MapState<StateKey, unknown>);
    }
    return handle;
  }

  *keys(stateName: string): IterableIterator<StateKey> {
    const table = this.tables.get(stateName);
    if (table === undefined) return;
    const ttl = table.ttlMs;
    const now = ttl === undefined ? 0 : this.now();
    for (const [key, row] of this.rows.entries()) {
      if (!table.has(row) || (ttl !== undefined && now - table.writtenAt(row) >= ttl)) continue;
      yield key;
    }
  }

  /** Names of the states declared or restored so far. */
  stateNames(): string[] {
    return [...this.tables.keys()];
  }

  /** Keys held over all states (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const t of this.tableList) n += t.size;
    return n;
  }

  afterBatch(): void {
    let now: number | undefined;
    for (const table of this.tableList) {
      if (table.ttlMs === undefined) continue;
      now ??= this.now();
      table.expireFront(now, EXPIRY_BUDGET);
      if (table.unordered) table.sweep(now, EXPIRY_BUDGET);
    }
    this.changelog.afterBatch();
  }

  backpressure(): Promise<void> | undefined {
    return this.changelog.snapshots.roomForWrites();
  }

  snapshot(checkpointId: number): Promise<KeyedStateSnapshot> {
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
  }

  /**
   * All of one chain of this scope is adopted: later checkpoints extend it. Anything else is
   * replayed as writes into the changelog (written out in segments while restoring), so the
   * state no longer depends on files another instance may delete.
   */
  async restore(inputs: readonly KeyedStateRestore[]): Promise<void> {
    // Only the owned key groups are read (a chain written for exactly those can still be extended whole).
    const range = this.ownedRange;
    const chains = inputs.map((input) => (input.kind === 'legacy' || range === undefined || input.input.keyGroups !== undefined ? input : { ...input, input: { ...input.input, keyGroups: range } }));
    const only = chains.length === 1 ? chains[0] : undefined;
    const adopt = only?.kind === 'chain' && this.changelog.snapshots.canExtend(only.input) ? only.input.chain : undefined;
    for (const input of chains) {
      if (input.kind === 'legacy') this.restoreLegacy(input.bytes, input.split);
      else await this.restoreChain(input.input, adopt === undefined);
    }
    if (adopt !== undefined) this.changelog.snapshots.adopt(adopt);
    else await this.changelog.flushRestored();
    for (const table of this.tableList) if (table.ttlMs !== undefined && table.size > 0) table.unordered = true;
  }

  private async restoreChain(input: ChainInput, replay: boolean): Promise<void> {
    const now = this.now();
    for await (const { info, block } of chainBlocks(input, this.maxParallelism, this.context.stepId, this.store)) {
      this.applyBlock(this.tableFor(info), block, now, replay);
      if (replay) await this.changelog.flushRestored(false);
    }
  }

  /**
   * Applies a restored block to its table: later files override earlier ones, tombstones delete.
   * With `replay`, each change also goes to the changelog (the state is written anew).
   */
  private applyBlock(table: HeapStateTable, block: StateBlock, now: number, replay: boolean): void {
    const split = block.split === '' ? -1 : this.splits.idOf(block.split);
    const ttl = table.ttlMs;
    const rows = this.rows;
    const log = replay ? this.changelog.log : undefined;
    const time = (e: { writtenAt?: number }) => (ttl === undefined ? undefined : (e.writtenAt ?? now));
    for (const e of block.entries) {
      if (table.kind === 'value') {
        if (e.deleted) {
          if (table.remove(rows.find(e.key))) log?.delete(table.index, split, e.key, undefined);
          continue;
        }
        if (ttl !== undefined && e.writtenAt !== undefined && now - e.writtenAt >= ttl) continue;
        table.put(this.restoredRow(e.key, split), e.value, e.writtenAt ?? now);
        log?.set(table.index, split, e.key, undefined, time(e), e.value);
        continue;
      }
      const row = rows.find(e.key);
      if (e.mapKey === undefined) {
        if (e.deleted && table.remove(row)) log?.clearMap(table.index, split, e.key);
        continue;
      }
      const m = table.get(row) as Map<StateKey, unknown> | undefined;
      if (e.deleted) {
        if (m !== undefined && m.delete(e.mapKey)) {
          log?.delete(table.index, split, e.key, e.mapKey);
          if (m.size === 0) table.remove(row);
        }
        continue;
      }
      if (ttl !== undefined && e.writtenAt !== undefined && now - e.writtenAt >= ttl) continue;
      const t = e.writtenAt ?? now;
      const inner = m ?? new Map<StateKey, unknown>();
      inner.set(e.mapKey, ttl === undefined ? e.value : ({ v: e.value, t } satisfies TtlEntry<unknown>));
      table.put(this.restoredRow(e.key, split), inner, t);
      log?.set(table.index, split, e.key, e.mapKey, time(e), e.value);
    }
  }

  /** The row of a restored entry's key, attributed to the split the entry was stored under. */
  private restoredRow(key: StateKey, split: number): number {
    const hash = hashKey(key);
    const row = this.rows.find(key, hash);
    if (row === NO_ROW) return this.rows.add(key, split, hash);
    this.rows.assignSplit(row, split);
    return row;
  }

  /**
   * A snapshot of the previous (JSON) format: its entries are loaded and also written to the
   * changelog, so the first checkpoint stores them in the binary format.
   */
  private restoreLegacy(bytes: Uint8Array, split: string | undefined): void {
    const doc = decodeLegacySnapshot(bytes);
    if (doc.maxParallelism !== this.maxParallelism) {
      throw new RestoreError(`keyed state snapshot has maxParallelism ${doc.maxParallelism}, this backend ${this.maxParallelism}: key groups cannot be mapped`);
    }
    const splitId = split === undefined ? -1 : this.splits.idOf(split);
    const range = this.ownedRange;
    const now = this.now();
    for (const state of doc.states) {
      const table = this.tableFor({ name: state.name, kind: state.kind, ttlMs: state.ttlMs });
      const ttl = table.ttlMs;
      const expired = (t: number | undefined) => ttl !== undefined && t !== undefined && now - t >= ttl;
      for (const [group, entries] of state.groups) {
        if (range !== undefined && !inKeyGroupRange(range, group)) continue;
        for (const entry of entries) {
          const key = entry[0];
          if (table.kind === 'value') {
            const [, value, t] = entry as LegacyEntry;
            if (expired(t)) continue;
            table.put(this.restoredRow(key, splitId), value, t ?? now);
            this.changelog.log.set(table.index, splitId, key, undefined, ttl === undefined ? undefined : (t ?? now), value);
          } else {
            const m = (table.get(this.rows.find(key)) as Map<StateKey, unknown> | undefined) ?? new Map<StateKey, unknown>();
            let newest = -Infinity;
            for (const [mapKey, value, t] of (entry as LegacyMapEntry)[1]) {
              if (expired(t)) continue;
              m.set(mapKey, ttl === undefined ? value : ({ v: value, t: t ?? now } satisfies TtlEntry<unknown>));
              newest = Math.max(newest, t ?? now);
              this.changelog.log.set(table.index, splitId, key, mapKey, ttl === undefined ? undefined : (t ?? now), value);
            }
            if (m.size > 0) table.put(this.restoredRow(key, splitId), m, newest);
          }
        }
      }
    }
  }

  /** The table of a restored state, created (provisionally) when the operator has not declared it yet. */
  private tableFor(info: StateInfo): HeapStateTable {
    const existing = this.tables.get(info.name);
    if (existing !== undefined) {
      if (existing.kind !== info.kind) throw new RestoreError(`state '${info.name}' is declared as ${existing.kind} state but the checkpoint holds ${info.kind} state`);
      return existing;
    }
    this.provisional.add(info.name);
    return this.addTable(info.name, info.kind, info.ttlMs ?? undefined);
  }

  private addTable(name: string, kind: StateKind, ttlMs: number | undefined): HeapStateTable {
    const table = new HeapStateTable(name, kind, ttlMs, this.tableList.length, this.rows);
    this.tables.set(name, table);
    this.tableList.push(table);
    return table;
  }

  private declare(descriptor: StateDescriptor, kind: StateKind): HeapStateTable {
    const { name, ttlMs } = descriptor;
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new StateDeclarationError(`state '${name}': ttlMs must be > 0, got ${ttlMs}`);
    const table = this.tables.get(name);
    if (table === undefined) return this.addTable(name, kind, ttlMs);
    if (this.provisional.delete(name)) return this.adopt(table, kind, ttlMs);
    if (table.kind !== kind || table.ttlMs !== ttlMs) throw new StateDeclarationError(`state '${name}' already declared as ${table.kind} state with ttlMs=${table.ttlMs}`);
    return table;
  }

  /** A restored state is declared: its kind must match; a changed TTL converts its entries. */
  private adopt(table: HeapStateTable, kind: StateKind, ttlMs: number | undefined): HeapStateTable {
    if (table.kind !== kind) throw new RestoreError(`state '${table.name}' is declared as ${kind} state but the checkpoint holds ${table.kind} state`);
    if (table.ttlMs === ttlMs) return table;
    const replacement = new HeapStateTable(table.name, kind, ttlMs, table.index, this.rows);
    const now = this.now();
    // A map's entries carry their own times (TtlEntry) under a TTL; a value's time is a column of its table.
    const convertEntry = (value: unknown): unknown => {
      const plain = table.ttlMs === undefined ? value : (value as TtlEntry<unknown>).v;
      return ttlMs === undefined ? plain : ({ v: plain, t: table.ttlMs === undefined ? now : (value as TtlEntry<unknown>).t } satisfies TtlEntry<unknown>);
    };
    const convert = kind === 'value' ? (value: unknown) => value : (value: unknown) => new Map([...(value as Map<StateKey, unknown>)].map(([k, v]) => [k, convertEntry(v)]));
    replacement.takeOver(table, convert, now);
    replacement.unordered = ttlMs !== undefined;
    this.tables.set(table.name, replacement);
    this.tableList[table.index] = replacement;
    return replacement;
  }
}
