import { StreamlineError } from '../../../errors.js';
import type { StateKey } from '../state-key.js';

/** What `find` returns for a key the index does not hold. */
export const NOT_FOUND = -1;

const INITIAL_SLOTS = 1024;
/** A table grows when its entries reach this share of its slots (linear probing stays short below it). */
const MAX_LOAD = 0.75;
/** Old slots moved to the grown table per insert: the move ends long before the grown table fills (see `insert`). */
const MOVES_PER_INSERT = 16;
/** Slot word 1 of an empty slot. */
const EMPTY = 0;
/** Slot word 1 of an entry deleted from a table being moved out of: probes go on past it. */
const GONE = -1;

/**
 * Key → row, open addressing in an Int32Array of [hash, row + 1] slot pairs, linear probing.
 *
 * Why not a JavaScript Map: a Map grows by rehashing every entry at once, on the task's thread,
 * between two records: 450 ms at 4 M keys, 810 ms at 8 M (BENCHMARKS.md, session 11), which a
 * checkpoint barrier waiting behind it pays in full. This index grows incrementally instead: a
 * table twice the size is allocated and each insert moves 16 slots of the old table into it; until
 * the move ends, a key is looked for in the new table, then in the old one. The only stall left
 * is allocating (zeroing) the new array.
 *
 * The caller gives each key's hash (the key-group hash it computes anyway, `hashKey`), so the
 * index never hashes a string itself; equal hashes are told apart by comparing the keys, which the
 * caller keeps by row in `keyOf`.
 */
export class KeyIndex {
  private slots = new Int32Array(2 * INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private entries = 0;
  /** The table being moved out of while the index grows, else undefined. */
  private old: Int32Array | undefined;
  private oldMask = 0;
  /** Old slots below this have been moved. */
  private moved = 0;
  private oldEntries = 0;

  constructor(private readonly keyOf: readonly (StateKey | undefined)[]) {}

  /** Keys held. */
  get size(): number {
    return this.entries + this.oldEntries;
  }

  /** True while the index is moving entries into a grown table (for tests). */
  get growing(): boolean {
    return this.old !== undefined;
  }

  /** The row of `key` (whose hash is `hash`), or NOT_FOUND. */
  find(key: StateKey, hash: number): number {
    hash |= 0;
    const slot = this.slotOf(this.slots, this.mask, key, hash);
    if (slot >= 0) return this.slots[slot + 1]! - 1;
    if (this.old === undefined) return NOT_FOUND;
    const old = this.slotOf(this.old, this.oldMask, key, hash);
    return old >= 0 ? this.old[old + 1]! - 1 : NOT_FOUND;
  }

  /** Adds the key at `row` (whose hash is `hash`); the key must not be held already. */
  insert(hash: number, row: number): void {
    hash |= 0;
    if (this.old !== undefined) this.moveSome(MOVES_PER_INSERT);
    // While growing, the new table holds at most the old table's entries (≤ 3/8 of its slots) plus
    // one per insert, and the move ends within (old slots / 16) inserts: it never reaches MAX_LOAD.
    else if (this.entries + 1 > (this.mask + 1) * MAX_LOAD) this.startGrowing();
    this.put(this.slots, this.mask, hash, row);
    this.entries++;
  }

  /** Removes `key` (held at `row`). */
  remove(key: StateKey, hash: number, row: number): void {
    hash |= 0;
    const slot = this.slotOf(this.slots, this.mask, key, hash);
    if (slot >= 0) {
      this.deleteAt(slot);
      this.entries--;
      return;
    }
    const old = this.old === undefined ? -1 : this.slotOf(this.old, this.oldMask, key, hash);
    if (old < 0 || this.old![old + 1]! - 1 !== row) throw new StreamlineError(`key index holds no key ${JSON.stringify(key)} at row ${row}`);
    // The old table is only read until the move ends: a marker keeps its probe chains whole.
    this.old![old + 1] = GONE;
    this.oldEntries--;
  }

  /** Slot (index of its hash word) holding `key`, or -1. */
  private slotOf(table: Int32Array, mask: number, key: StateKey, hash: number): number {
    let i = hash & mask;
    for (;;) {
      const at = i << 1;
      const rowPlusOne = table[at + 1]!;
      if (rowPlusOne === EMPTY) return -1;
      if (rowPlusOne !== GONE && table[at] === hash && this.keyOf[rowPlusOne - 1] === key) return at;
      i = (i + 1) & mask;
    }
  }

  private put(table: Int32Array, mask: number, hash: number, row: number): void {
    let i = hash & mask;
    while (table[(i << 1) + 1] !== EMPTY) i = (i + 1) & mask;
    table[i << 1] = hash;
    table[(i << 1) + 1] = row + 1;
  }

  /** Empties a slot of the current table and shifts later entries of its probe chain back (no markers left). */
  private deleteAt(at: number): void {
    const table = this.slots;
    const mask = this.mask;
    let hole = at >> 1;
    let i = hole;
    for (;;) {
      i = (i + 1) & mask;
      const rowPlusOne = table[(i << 1) + 1]!;
      if (rowPlusOne === EMPTY) break;
      const home = table[i << 1]! & mask;
      // The entry at i may fill the hole unless its home lies cyclically in (hole, i].
      const stays = hole <= i ? hole < home && home <= i : hole < home || home <= i;
      if (stays) continue;
      table[hole << 1] = table[i << 1]!;
      table[(hole << 1) + 1] = rowPlusOne;
      hole = i;
    }
    table[hole << 1] = 0;
    table[(hole << 1) + 1] = EMPTY;
  }

  private startGrowing(): void {
    this.old = this.slots;
    this.oldMask = this.mask;
    this.oldEntries = this.entries;
    this.moved = 0;
    const slots = 2 * (this.mask + 1);
    this.slots = new Int32Array(2 * slots);
    this.mask = slots - 1;
    this.entries = 0;
  }

  private moveSome(count: number): void {
    const old = this.old!;
    const end = Math.min(this.oldMask + 1, this.moved + count);
    for (let i = this.moved; i < end; i++) {
      const rowPlusOne = old[(i << 1) + 1]!;
      if (rowPlusOne === EMPTY || rowPlusOne === GONE) continue;
      this.put(this.slots, this.mask, old[i << 1]!, rowPlusOne - 1);
      old[(i << 1) + 1] = GONE;
      this.entries++;
      this.oldEntries--;
    }
    this.moved = end;
    if (end > this.oldMask) {
      this.old = undefined;
      this.oldEntries = 0;
    }
  }
}
