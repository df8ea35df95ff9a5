import type { StateKey } from './state-key.js';

/**
 * Which source split (Kafka partition) each key's state belongs to — the split it was first seen
 * under — so state can move with its split in group mode. Split names get small indexes (used in
 * changelogs); a key seen later under another split is a conflict (the key does not follow the
 * topic's partitioning), counted, and keeps its first split.
 */
export class SplitAttribution {
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

  /** The split `key` belongs to, attributing it to the current split on first sight. */
  attribute(key: StateKey): number {
    const keys = this.keys;
    if (keys === undefined) return -1;
    const owner = keys.get(key);
    if (owner !== undefined) {
      if (this.current >= 0 && owner !== this.current) this.conflicts++;
      return owner;
    }
    if (this.current < 0) return -1;
    keys.set(key, this.current);
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

  splitOf(key: StateKey): number {
    return this.keys?.get(key) ?? -1;
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
