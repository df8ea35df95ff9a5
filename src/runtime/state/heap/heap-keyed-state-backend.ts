/**
 * Keyed state on the JavaScript heap — the default, for state that fits in memory. Each declared
 * state is one `Map<key, value>` (a Map per key group measured 2-4x slower); every change also
 * goes to a binary changelog, which is what checkpoints are made of: at a barrier the log is
 * handed to the snapshot writer and becomes a delta file off the main thread (see
 * IncrementalSnapshots). Nothing ever serializes the whole state on the task's thread. Value
 * states whose keys repeat log each changed key once per segment (CoalescedValueWrites): a hot
 * key costs one record per checkpoint, not one per write. Map states log every write.
 *
 * TTL: a write moves its key to the end of its table, so each table runs oldest write first and
 * `afterBatch` expires keys from the front — the cost is the number of expired keys, never a scan.
 *
 * Splits (scale-out): a key belongs to the split it was first written under (SplitAttribution); its
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
import { SplitAttribution } from '../split-attribution.js';
import { KeyGroupOutOfRangeError, StateDeclarationError } from '../state-errors.js';
import { HeapMapState } from './heap-map-state.js';
import { HeapStateTable, type TtlEntry } from './heap-state-table.js';
import { HeapTtlValueState, HeapValueState } from './heap-value-state.js';

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
}

/** Expired keys deleted (and entries swept) per batch at most: TTL work stays small and steady. */
const EXPIRY_BUDGET = 512;

/** {@link KeyedStateBackend} on the heap; see the module comment. */
export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly maxParallelism: number;
  private readonly ownedRange: KeyGroupRange | undefined;
  private readonly cursor: KeyCursor;
  private readonly now: () => number;
  private readonly splits = new SplitAttribution();
  private readonly tables = new Map<string, HeapStateTable>();
  private readonly tableList: HeapStateTable[] = [];
  /** States created by a restore before the operator declared them. */
  private readonly provisional = new Set<string>();
  private readonly handles = new Map<string, ValueState<unknown> | MapState<StateKey, unknown>>();
  private readonly changelog: StateChangelog;
  private readonly store: CheckpointStore;

  constructor(
    private readonly context: KeyedStateContext,
    options: HeapKeyedStateBackendOptions = {},
  ) {
    this.maxParallelism = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
    checkMaxParallelism(this.maxParallelism);
    const clock = context.clock ?? systemClock;
    this.now = () => clock.now();
    this.cursor = new KeyCursor(this.now, this.splits);
    this.ownedRange = options.keyGroupRange ?? context.keyGroupRange;
    this.store = context.store;
    this.changelog = new StateChangelog({
      taskId: context.stepId,
      scope: context.scope,
      maxParallelism: this.maxParallelism,
      ...(this.ownedRange ? { keyGroups: this.ownedRange } : {}),
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
      // Looked up again only after the split changed: a hot key costs no lookup per record.
      if (cursor.split === SPLIT_UNPLACED) cursor.split = this.splits.place(key);
      return;
    }
    if (typeof key === 'number' && !Number.isFinite(key)) throw new TypeError(`state key must be a finite number or a string, got ${key}`);
    if (this.ownedRange !== undefined) {
      const group = hashKey(key) % this.maxParallelism;
      if (!inKeyGroupRange(this.ownedRange, group)) {
        throw new KeyGroupOutOfRangeError(`key ${JSON.stringify(key)} is in key group ${group}, outside this instance's range [${this.ownedRange.start}, ${this.ownedRange.end}]`);
      }
    }
    cursor.moveTo(key, this.splits.place(key));
  }

  setCurrentSplit(split: string | undefined): void {
    this.splits.setCurrent(split);
    // The cursor's key is placed again under the new split, at its next setCurrentKey or write.
    if (this.cursor.set) this.cursor.split = SPLIT_UNPLACED;
  }

  get splitConflicts(): number {
    return this.splits.conflicts;
  }

  getCurrentKey(): StateKey {
    if (!this.cursor.set) throw new StreamlineError('getCurrentKey called before setCurrentKey');
    return this.cursor.key;
  }

  valueState<V>(descriptor: StateDescriptor): ValueState<V> {
    const table = this.declare(descriptor, 'value');
    let handle = this.handles.get(descriptor.name) as ValueState<V> | undefined;
    if (handle === undefined) {
      const gone = (key: StateKey) => this.forgetIfGone(key);
      handle = table.ttlMs === undefined ? new HeapValueState<V>(this.cursor, table, this.changelog.valueWrites, gone) : new HeapTtlValueState<V>(this.cursor, table, this.changelog.valueWrites, table.ttlMs, gone);
      this.handles.set(descriptor.name, handle as ValueState<unknown>);
    }
    return handle;
  }

  mapState<K extends StateKey, V>(descriptor: StateDescriptor): MapState<K, V> {
    const table = this.declare(descriptor, 'map');
    let handle = this.handles.get(descriptor.name) as MapState<K, V> | undefined;
    if (handle === undefined) {
      handle = new HeapMapState<K, V>(this.cursor, table, this.changelog.log, table.ttlMs, (key) => this.forgetIfGone(key));
      this.handles.set(descriptor.name, handle as unknown as MapState<StateKey, unknown>);
    }
    return handle;
  }

  *keys(stateName: string): IterableIterator<StateKey> {
    const table = this.tables.get(stateName);
    if (table === undefined) return;
    const ttl = table.ttlMs;
    const now = ttl === undefined ? 0 : this.now();
    for (const [key, value] of table.values) {
      if (ttl !== undefined && now - table.writtenAt(value) >= ttl) continue;
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
    for (const t of this.tableList) n += t.values.size;
    return n;
  }

  afterBatch(): void {
    let now: number | undefined;
    for (const table of this.tableList) {
      if (table.ttlMs === undefined) continue;
      now ??= this.now();
      table.expireFront(now, EXPIRY_BUDGET, (key) => this.forgetIfGone(key));
      if (table.unordered) table.sweep(now, EXPIRY_BUDGET, (key) => this.forgetIfGone(key));
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
    for (const table of this.tableList) if (table.ttlMs !== undefined && table.values.size > 0) table.unordered = true;
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
    const values = table.values;
    const log = replay ? this.changelog.log : undefined;
    const time = (e: { writtenAt?: number }) => (ttl === undefined ? undefined : (e.writtenAt ?? now));
    for (const e of block.entries) {
      if (table.kind === 'value') {
        if (e.deleted) {
          if (values.delete(e.key)) log?.delete(table.index, split, e.key, undefined);
          continue;
        }
        if (ttl !== undefined && e.writtenAt !== undefined && now - e.writtenAt >= ttl) continue;
        values.set(e.key, ttl === undefined ? e.value : ({ v: e.value, t: e.writtenAt ?? now } satisfies TtlEntry<unknown>));
        log?.set(table.index, split, e.key, undefined, time(e), e.value);
        this.splits.assign(e.key, split);
        continue;
      }
      if (e.mapKey === undefined) {
        if (e.deleted && values.delete(e.key)) log?.clearMap(table.index, split, e.key);
        continue;
      }
      let m = values.get(e.key) as Map<StateKey, unknown> | undefined;
      if (e.deleted) {
        if (m !== undefined && m.delete(e.mapKey)) {
          log?.delete(table.index, split, e.key, e.mapKey);
          if (m.size === 0) values.delete(e.key);
        }
        continue;
      }
      if (ttl !== undefined && e.writtenAt !== undefined && now - e.writtenAt >= ttl) continue;
      if (m === undefined) values.set(e.key, (m = new Map()));
      m.set(e.mapKey, ttl === undefined ? e.value : ({ v: e.value, t: e.writtenAt ?? now } satisfies TtlEntry<unknown>));
      log?.set(table.index, split, e.key, e.mapKey, time(e), e.value);
      this.splits.assign(e.key, split);
    }
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
            table.values.set(key, ttl === undefined ? value : ({ v: value, t: t ?? now } satisfies TtlEntry<unknown>));
            this.changelog.log.set(table.index, splitId, key, undefined, ttl === undefined ? undefined : (t ?? now), value);
          } else {
            let m = table.values.get(key) as Map<StateKey, unknown> | undefined;
            for (const [mapKey, value, t] of (entry as LegacyMapEntry)[1]) {
              if (expired(t)) continue;
              if (m === undefined) table.values.set(key, (m = new Map()));
              m.set(mapKey, ttl === undefined ? value : ({ v: value, t: t ?? now } satisfies TtlEntry<unknown>));
              this.changelog.log.set(table.index, splitId, key, mapKey, ttl === undefined ? undefined : (t ?? now), value);
            }
          }
          this.splits.assign(key, splitId);
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
    const table = new HeapStateTable(name, kind, ttlMs, this.tableList.length);
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
    const replacement = new HeapStateTable(table.name, kind, ttlMs, table.index);
    const now = this.now();
    const convert = (value: unknown): unknown => {
      const plain = table.ttlMs === undefined ? value : (value as TtlEntry<unknown>).v;
      return ttlMs === undefined ? plain : ({ v: plain, t: table.ttlMs === undefined ? now : (value as TtlEntry<unknown>).t } satisfies TtlEntry<unknown>);
    };
    for (const [key, value] of table.values) {
      if (kind === 'value') replacement.values.set(key, convert(value));
      else replacement.values.set(key, new Map([...(value as Map<StateKey, unknown>)].map(([k, v]) => [k, convert(v)])));
    }
    replacement.unordered = ttlMs !== undefined;
    this.tables.set(table.name, replacement);
    this.tableList[table.index] = replacement;
    return replacement;
  }

  /** An expired key: once no state holds it any more, it no longer needs a split. */
  private forgetIfGone(key: StateKey): void {
    for (const t of this.tableList) if (t.values.has(key)) return;
    this.splits.forget(key);
    // A write after this (clear, then set again) attributes the key anew.
    if (this.cursor.set && this.cursor.key === key) this.cursor.split = SPLIT_UNPLACED;
  }
}
