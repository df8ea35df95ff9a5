import { grown } from '../grown-array.js';
import type { SplitPlacer } from '../key-cursor.js';
import { hashKey } from '../key-group.js';
import type { SplitNames } from '../split-names.js';
import { StateCapacityError } from '../state-errors.js';
import type { StateKey } from '../state-key.js';
import { KeyIndex, NOT_FOUND } from './key-index.js';

/** Row of a key that has no heap state. */
export const NO_ROW = NOT_FOUND;

/**
 * Keys one heap backend holds at most. At about 110 bytes a key that is 1.8 GB on one thread's
 * heap, which every major collection traces, and each materialization of its checkpoints reads
 * all of it: state this large belongs on disk.
 */
export const MAX_HEAP_KEYS = 2 ** 24;

const INITIAL_ROWS = 1024;

/**
 * Every key that has heap state, numbered. Each state keeps its entries in columns indexed by the
 * key's row (HeapStateTable), and the row also holds the key's split: the split it was first
 * written under, so its state can move with the split in group mode. A key is looked up once per
 * record for all of that; nothing is allocated per key but its row.
 *
 * Why rows and not a Map per state: a TTL value entry in a Map (the entry object, its boxed
 * time) and the key's split in a second Map came to 148 bytes and four objects a dedup key for
 * the collector to trace; rows cost 107 bytes and no object beyond the key itself (BENCHMARKS.md,
 * session 11).
 *
 * Keys are found through a KeyIndex (typed arrays, grown incrementally), not a JavaScript Map:
 * a Map grows by rehashing every entry at once on the task's thread (450 ms at 4 M keys, 810 ms at
 * 8 M on an idle core), and a Map per key group, which removes that stall, measured 7–20 % more CPU
 * and 240–500 MiB more RSS at 10 M keys (session 11).
 *
 * A key gets a row at its first write and loses it when no state holds an entry of it any more
 * (`release`); rows are reused. MAX_HEAP_KEYS bounds the keys of one backend: past it a write
 * fails the task with StateCapacityError, naming the disk backend.
 */
export class KeyRows implements SplitPlacer {
  /** Row → key; undefined for a free row. */
  private readonly keyOf: (StateKey | undefined)[] = [];
  private readonly index = new KeyIndex(this.keyOf);
  /** Row → split index (-1: none). */
  private splitOf = new Int32Array(INITIAL_ROWS);
  /** Row → how many states hold an entry of the key. */
  private holders = new Uint16Array(INITIAL_ROWS);
  private readonly freeRows: number[] = [];
  /** Keys seen under a split other than the one their state belongs to (the key does not follow the topic's partitioning). */
  conflicts = 0;

  constructor(
    private readonly splits: SplitNames,
    /** A row was freed: whoever holds it (the key cursor) must let go. */
    private readonly onFreed: (row: number) => void,
    /** Who holds the state, for the capacity error (e.g. "step 'orders.dedup'"). */
    private readonly owner: string,
    private readonly maxKeys = MAX_HEAP_KEYS,
  ) {}

  /** Keys with a row. */
  get size(): number {
    return this.index.size;
  }

  /** The key's row, or NO_ROW; `hash` is the key's hashKey when the caller has it already. */
  find(key: StateKey, hash = hashKey(key)): number {
    return this.index.find(key, hash);
  }

  keyAt(row: number): StateKey {
    return this.keyOf[row] as StateKey;
  }

  splitAt(row: number): number {
    return this.splitOf[row]!;
  }

  /** Attributes a row's key to `split` (a restored entry says where it belongs). */
  assignSplit(row: number, split: number): void {
    if (split >= 0) this.splitOf[row] = split;
  }

  /** A row for `key`, which has none, attributed to `split`; `hash` as in `find`. */
  add(key: StateKey, split: number, hash = hashKey(key)): number {
    if (this.index.size >= this.maxKeys) {
      throw new StateCapacityError(
        `keyed state of ${this.owner} holds ${this.index.size.toLocaleString('en-US')} keys, the most the heap backend holds; ` +
          'keep state this large on disk (STATE_BACKEND=disk, or stateBackend: \'disk\' in the job), spread its keys over more subtasks (PARALLELISM) or give it a shorter TTL',
      );
    }
    let row = this.freeRows.pop();
    if (row === undefined) {
      row = this.keyOf.length;
      this.keyOf.push(key);
      if (row >= this.splitOf.length) this.grow(row + 1);
    } else {
      this.keyOf[row] = key;
    }
    this.index.insert(hash, row);
    this.splitOf[row] = split;
    this.holders[row] = 0;
    return row;
  }

  /** A state now holds an entry of the row's key. */
  hold(row: number): void {
    this.holders[row]!++;
  }

  /** A state no longer holds an entry of the row's key; the last one frees the row. */
  release(row: number): void {
    if (--this.holders[row]! > 0) return;
    const key = this.keyOf[row] as StateKey;
    this.index.remove(key, hashKey(key), row);
    this.keyOf[row] = undefined;
    this.freeRows.push(row);
    this.onFreed(row);
  }

  /** Keys with a row and their rows, by row (safe against deletions meanwhile). */
  *entries(): IterableIterator<[StateKey, number]> {
    const keyOf = this.keyOf;
    for (let row = 0; row < keyOf.length; row++) {
      const key = keyOf[row];
      if (key !== undefined) yield [key, row];
    }
  }

  /**
   * The split a write of `key` goes under: its row's, counting a conflict when that is not the
   * current split, else the current split (which its first write attributes it to).
   */
  place(key: StateKey): number {
    const row = this.find(key);
    return row === NO_ROW ? this.splits.currentSplit : this.placeRow(row);
  }

  /** `place` for a key whose row is known. */
  placeRow(row: number): number {
    const owner = this.splitOf[row]!;
    const current = this.splits.currentSplit;
    if (owner < 0) return current;
    if (current >= 0 && owner !== current) this.conflicts++;
    return owner;
  }

  private grow(min: number): void {
    const capacity = Math.max(min, this.splitOf.length * 2);
    this.splitOf = grown(this.splitOf, capacity);
    this.holders = grown(this.holders, capacity);
  }
}
