import { CorruptCheckpointError } from '../../../errors.js';
import type { StateKey } from '../state-key.js';
import { ByteReader } from '../format/byte-reader.js';
import { ByteWriter } from '../format/byte-writer.js';
import { grown } from '../grown-array.js';
import { writeEntry } from '../format/state-entry-codec.js';
import { compareEntries, type EncodedStateBlock, type StateEntry, type StateInfo } from '../format/state-file.js';
import { readKey, readKeyHash, readValue, skipValue } from '../format/state-value-codec.js';
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

/** Resolved entries of one (state, key group) for one split, re-encoded in a split's buffer. */
interface Segment {
  readonly state: number;
  readonly keyGroup: number;
  readonly start: number;
  readonly end: number;
  readonly count: number;
}

/** Growable typed arrays: where each changelog record starts, and its (state, key group) bucket. */
class RecordIndex {
  log = new Uint16Array(1024);
  offset = new Uint32Array(1024);
  bucket = new Uint32Array(1024);
  length = 0;

  push(log: number, offset: number, bucket: number): void {
    if (this.length === this.offset.length) {
      const capacity = this.offset.length * 2;
      this.log = grown(this.log, capacity);
      this.offset = grown(this.offset, capacity);
      this.bucket = grown(this.bucket, capacity);
    }
    this.log[this.length] = log;
    this.offset[this.length] = offset;
    this.bucket[this.length] = bucket;
    this.length++;
  }
}

/**
 * What a run of changelogs amounts to: per state and key the last write wins (a delete is a
 * tombstone). Built off the task thread (in a snapshot worker) from the logs of one or more
 * checkpoints, oldest first, and read as the sorted blocks of a delta file.
 *
 * Memory stays near the logs' own size, whatever the number of keys: the records are indexed
 * (log, offset, state and key group) in typed arrays, resolved one state and key group at a time,
 * and the resolved entries kept re-encoded per split until the blocks are read in file order
 * (state name, split, key group). Decoding a whole interval into objects at once took ~300 bytes
 * a change in the snapshot worker: 100–180 MiB for ten seconds of the orders job at full speed.
 */
export class ChangeSet {
  private resolved: { readonly bySplit: Map<number, { readonly bytes: Uint8Array; readonly segments: Segment[] }>; readonly count: number } | undefined;

  /** `logs`: changelogs, oldest first, each with its records in the order they were written. */
  constructor(
    readonly states: readonly StateInfo[],
    readonly splits: readonly string[],
    private readonly maxParallelism: number,
    private readonly logs: readonly Uint8Array[],
  ) {}

  /** Distinct changed entries (value keys, map entries and whole-map clears). */
  get size(): number {
    return this.resolve().count;
  }

  /**
   * The changes as file blocks whose entries are already encoded, in the order state files
   * require: a delta file copies them as they are.
   */
  *encodedBlocks(): Generator<EncodedStateBlock> {
    const { bySplit } = this.resolve();
    const splitName = (split: number) => (split < 0 ? '' : (this.splits[split] ?? ''));
    const order = [...bySplit.keys()].sort((a, b) => (splitName(a) < splitName(b) ? -1 : splitName(a) > splitName(b) ? 1 : a - b));
    const stateOrder = this.states.map((_, i) => i).sort((a, b) => (this.states[a]!.name < this.states[b]!.name ? -1 : 1));
    for (const state of stateOrder) {
      for (const split of order) {
        const { bytes, segments } = bySplit.get(split)!;
        // Segments were appended in (state index, key group) order.
        for (const segment of segments) {
          if (segment.state !== state) continue;
          yield { state: this.states[state]!.name, split: splitName(split), keyGroup: segment.keyGroup, count: segment.count, bytes: bytes.subarray(segment.start, segment.end) };
        }
      }
    }
  }

  private resolve(): NonNullable<ChangeSet['resolved']> {
    if (this.resolved !== undefined) return this.resolved;
    const { maxParallelism } = this;
    const index = this.index();
    // Counting sort by bucket (state × key group), stable: records of a bucket stay in log order.
    const buckets = this.states.length * maxParallelism;
    const starts = new Uint32Array(buckets + 1);
    for (let i = 0; i < index.length; i++) starts[index.bucket[i]! + 1]!++;
    for (let b = 0; b < buckets; b++) starts[b + 1]! += starts[b]!;
    const sorted = new Uint32Array(index.length);
    const next = starts.slice(0, buckets);
    for (let i = 0; i < index.length; i++) sorted[next[index.bucket[i]!]!++] = i;

    const writing = new Map<number, { readonly out: ByteWriter; readonly segments: Segment[] }>();
    const readers = this.logs.map((log) => new ByteReader(log, 'state changelog'));
    let count = 0;
    for (let bucket = 0; bucket < buckets; bucket++) {
      const from = starts[bucket]!;
      const to = starts[bucket + 1]!;
      if (from === to) continue;
      const state = Math.floor(bucket / maxParallelism);
      const keyGroup = bucket % maxParallelism;
      const entriesBySplit = this.resolveBucket(state, sorted.subarray(from, to), index, readers);
      for (const [split, entries] of entriesBySplit) {
        entries.sort(compareEntries);
        let target = writing.get(split);
        if (target === undefined) writing.set(split, (target = { out: new ByteWriter(64 * 1024), segments: [] }));
        const start = target.out.length;
        for (const e of entries) writeEntry(target.out, e);
        target.segments.push({ state, keyGroup, start, end: target.out.length, count: entries.length });
        count += entries.length;
      }
    }
    const bySplit = new Map([...writing].map(([split, { out, segments }]) => [split, { bytes: out.detach(), segments }]));
    this.resolved = { bySplit, count };
    return this.resolved;
  }

  /** Reads every record's state and key: where it is and which (state, key group) it changes. */
  private index(): RecordIndex {
    const { maxParallelism } = this;
    const index = new RecordIndex();
    this.logs.forEach((log, li) => {
      const input = new ByteReader(log, 'state changelog');
      while (input.remaining > 0) {
        const start = input.offset;
        const opByte = input.u8();
        const op = opByte & 0x0f;
        const state = input.varint();
        input.varint(); // split
        const hash = readKeyHash(input);
        if (opByte & OP_HAS_MAP_KEY) readKey(input);
        if (opByte & OP_HAS_TIME) input.varint();
        if (this.states[state] === undefined) throw new CorruptCheckpointError(`state changelog names unknown state #${state}`);
        if (op === OP_SET) skipValue(input);
        else if (op !== OP_DELETE && op !== OP_CLEAR_MAP) throw new CorruptCheckpointError(`state changelog: unknown operation ${op}`);
        index.push(li, start, state * maxParallelism + (hash % maxParallelism));
      }
    });
    return index;
  }

  /** The last write of every key of one (state, key group), as entries grouped by the split each key's state belongs to. */
  private resolveBucket(state: number, records: Uint32Array, index: RecordIndex, readers: readonly ByteReader[]): Map<number, StateEntry[]> {
    const info = this.states[state]!;
    const values = new Map<StateKey, ValueChange>();
    const maps = new Map<StateKey, MapChange>();
    for (const r of records) {
      const input = readers[index.log[r]!]!;
      input.seek(index.offset[r]!);
      const opByte = input.u8();
      const op = opByte & 0x0f;
      input.varint(); // state (the bucket's)
      const split = input.varint() - 1;
      const key = readKey(input);
      const mapKey = opByte & OP_HAS_MAP_KEY ? readKey(input) : undefined;
      const writtenAt = opByte & OP_HAS_TIME ? input.varint() : undefined;
      if (op === OP_SET || op === OP_DELETE) {
        const deleted = op === OP_DELETE;
        const value = deleted ? undefined : readValue(input);
        if (info.kind === 'value') {
          const previous = values.get(key);
          // A key keeps the split it was first written under (its state moves with that split) until it is deleted.
          values.set(key, { split: previous !== undefined && !previous.deleted && previous.split >= 0 ? previous.split : split, deleted, writtenAt, value });
        } else if (mapKey === undefined) throw new CorruptCheckpointError(`state changelog: map state '${info.name}' written without a map key`);
        else mapChange(maps, key, split).entries.set(mapKey, { split, deleted, writtenAt, value });
      } else {
        const change = mapChange(maps, key, split);
        change.cleared = true;
        change.entries.clear();
      }
    }
    const bySplit = new Map<number, StateEntry[]>();
    const entriesOf = (split: number) => {
      let entries = bySplit.get(split);
      if (entries === undefined) bySplit.set(split, (entries = []));
      return entries;
    };
    for (const [key, c] of values) entriesOf(c.split).push(c.deleted ? { key, deleted: true } : { key, deleted: false, writtenAt: c.writtenAt, value: c.value });
    for (const [key, c] of maps) {
      const entries = entriesOf(c.split);
      if (c.cleared) entries.push({ key, deleted: true });
      for (const [mapKey, e] of c.entries) entries.push(e.deleted ? { key, mapKey, deleted: true } : { key, mapKey, deleted: false, writtenAt: e.writtenAt, value: e.value });
    }
    return bySplit;
  }
}

function mapChange(maps: Map<StateKey, MapChange>, key: StateKey, split: number): MapChange {
  let change = maps.get(key);
  if (change === undefined) maps.set(key, (change = { split, cleared: false, entries: new Map() }));
  return change;
}
