import { SPLIT_UNATTRIBUTED, type SplitPlacer } from './key-cursor.js';
import type { StateKey } from './state-key.js';

/**
 * Which source split (Kafka partition) each key's state belongs to — the split it was first
 * written under — so state can move with its split in group mode. Only keys with state have one:
 * a key that is only read leaves nothing here. Split names get small indexes (used in
 * changelogs); a key seen later under another split is a conflict (the key does not follow the
 * topic's partitioning), counted, and keeps its first split.
 */
export class SplitAttribution implements SplitPlacer {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  private current = -1;
  /** Created on first use: jobs without splits pay nothing. */
  private keys: Map<StateKey, number> | undefined;
  conflicts = 0;

  /** Index of the split being processed (-1: none). */
  get currentSplit(): number {
    return this.current;
  }

  setCurrent(split: string | undefined): void {
    this.current = split === undefined ? -1 : this.idOf(split);
    if (this.current >= 0) this.keys ??= new Map();
  }

  /**
   * The split `key` belongs to, counting a conflict when that is not the current split;
   * SPLIT_UNATTRIBUTED when it has none yet (`claim` gives it one at its first write).
   */
  place(key: StateKey): number {
    const owner = this.keys?.get(key);
    if (owner !== undefined) {
      if (this.current >= 0 && owner !== this.current) this.conflicts++;
      return owner;
    }
    return this.current < 0 ? -1 : SPLIT_UNATTRIBUTED;
  }

  /** Attributes `key`, which has no split, to the current split; returns it (-1: none). */
  claim(key: StateKey): number {
    if (this.current < 0) return -1;
    (this.keys ??= new Map()).set(key, this.current);
    return this.current;
  }

  /** Records that restored state of `key` belongs to `split`. */
  assign(key: StateKey, split: number): void {
    if (split < 0) return;
    (this.keys ??= new Map()).set(key, split);
  }

  /** The key's state is gone (cleared or expired everywhere): it no longer needs a split. */
  forget(key: StateKey): void {
    this.keys?.delete(key);
  }

  idOf(split: string): number {
    let id = this.ids.get(split);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(split, id);
      this.names.push(split);
    }
    return id;
  }
}
