import { CorruptCheckpointError } from '../../../errors.js';
import type { StateKey } from '../state-key.js';
import { hashKey } from '../key-group.js';
import { ByteReader } from '../format/byte-reader.js';
import { compareBlocks, compareEntries, type StateBlock, type StateEntry, type StateInfo } from '../format/state-file.js';
import { readKey, readValue } from '../format/state-value-codec.js';
import { OP_CLEAR_MAP, OP_DELETE, OP_HAS_MAP_KEY, OP_HAS_TIME, OP_SET } from './changelog-writer.js';

interface ValueChange {
  split: number;
  deleted: boolean;
  writtenAt: number | undefined;
  value: unknown;
}

interface MapChange {
  split: number;
  /** The whole map was cleared before `entries` were written. */
  cleared: boolean;
  readonly entries: Map<StateKey, ValueChange>;
}

/**
 * What a run of changelogs amounts to: per state and key the last write wins (a delete is a
 * tombstone). Built off the main thread (in a snapshot worker) from the logs of one or more
 * checkpoints, oldest first, and turned into the sorted blocks of a delta file.
 */
export class ChangeSet {
  private readonly values = new Map<number, Map<StateKey, ValueChange>>();
  private readonly maps = new Map<number, Map<StateKey, MapChange>>();
  private count = 0;

  constructor(
    readonly states: readonly StateInfo[],
    readonly splits: readonly string[],
  ) {}

  /** Distinct changed entries (value keys, map entries and whole-map clears). */
  get size(): number {
    return this.count;
  }

  /** Applies one changelog (records in the order they were written). */
  apply(log: Uint8Array): void {
    const input = new ByteReader(log, 'state changelog');
    while (input.remaining > 0) {
      const opByte = input.u8();
      const op = opByte & 0x0f;
      const state = input.varint();
      const split = input.varint() - 1;
      const key = readKey(input);
      const mapKey = opByte & OP_HAS_MAP_KEY ? readKey(input) : undefined;
      const writtenAt = opByte & OP_HAS_TIME ? input.varint() : undefined;
      const info = this.states[state];
      if (info === undefined) throw new CorruptCheckpointError(`state changelog names unknown state #${state}`);
      if (op === OP_SET || op === OP_DELETE) {
        const deleted = op === OP_DELETE;
        const value = deleted ? undefined : readValue(input);
        if (info.kind === 'value') this.valueChange(state, key, { split, deleted, writtenAt, value });
        else if (mapKey === undefined) throw new CorruptCheckpointError(`state changelog: map state '${info.name}' written without a map key`);
        else this.mapChange(state, key, split).entries.set(mapKey, { split, deleted, writtenAt, value });
      } else if (op === OP_CLEAR_MAP) {
        const change = this.mapChange(state, key, split);
        change.cleared = true;
        change.entries.clear();
      } else {
        throw new CorruptCheckpointError(`state changelog: unknown operation ${op}`);
      }
    }
    this.count = this.recount();
  }

  /** The changes as file blocks, sorted as state files require. */
  blocks(maxParallelism: number): StateBlock[] {
    const byBlock = new Map<string, { state: string; split: string; keyGroup: number; entries: StateEntry[] }>();
    const blockFor = (state: string, split: number, key: StateKey) => {
      const splitName = split < 0 ? '' : (this.splits[split] ?? '');
      const keyGroup = hashKey(key) % maxParallelism;
      const id = `${state}\u0000${splitName}\u0000${keyGroup}`;
      let block = byBlock.get(id);
      if (block === undefined) byBlock.set(id, (block = { state, split: splitName, keyGroup, entries: [] }));
      return block;
    };
    for (const [state, changes] of this.values) {
      const name = this.states[state]!.name;
      for (const [key, c] of changes) {
        blockFor(name, c.split, key).entries.push(c.deleted ? { key, deleted: true } : { key, deleted: false, writtenAt: c.writtenAt, value: c.value });
      }
    }
    for (const [state, changes] of this.maps) {
      const name = this.states[state]!.name;
      for (const [key, c] of changes) {
        const block = blockFor(name, c.split, key);
        if (c.cleared) block.entries.push({ key, deleted: true });
        for (const [mapKey, e] of c.entries) {
          block.entries.push(e.deleted ? { key, mapKey, deleted: true } : { key, mapKey, deleted: false, writtenAt: e.writtenAt, value: e.value });
        }
      }
    }
    const blocks = [...byBlock.values()];
    for (const block of blocks) block.entries.sort(compareEntries);
    return blocks.sort(compareBlocks);
  }

  private valueChange(state: number, key: StateKey, change: ValueChange): void {
    let changes = this.values.get(state);
    if (changes === undefined) this.values.set(state, (changes = new Map()));
    const previous = changes.get(key);
    // A key keeps the split it was first written under (its state moves with that split) until it is deleted.
    if (previous !== undefined && !previous.deleted && previous.split >= 0) change.split = previous.split;
    changes.set(key, change);
  }

  private mapChange(state: number, key: StateKey, split: number): MapChange {
    let changes = this.maps.get(state);
    if (changes === undefined) this.maps.set(state, (changes = new Map()));
    let change = changes.get(key);
    if (change === undefined) changes.set(key, (change = { split, cleared: false, entries: new Map() }));
    return change;
  }

  private recount(): number {
    let n = 0;
    for (const changes of this.values.values()) n += changes.size;
    for (const changes of this.maps.values()) for (const c of changes.values()) n += c.entries.size + (c.cleared ? 1 : 0);
    return n;
  }
}
