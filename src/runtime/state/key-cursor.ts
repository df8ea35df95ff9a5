import type { StateKey } from './state-key.js';

/** `KeyCursor.split` until the current key is looked up under the current split. */
export const SPLIT_UNPLACED = -3;
/** Where keys belong (see KeyRows); what the cursor asks when a key's split is not settled. */
export interface SplitPlacer {
  /** The split a write of the key goes under: the one its state belongs to, else the current split (-1: none). */
  place(key: StateKey): number;
}

const NO_SPLITS: SplitPlacer = { place: () => -1 };

/**
 * The current key, shared by every state handle of one backend. TTL states read the clock at most
 * once per `setCurrentKey` (a clock read costs ~100-200 ns on some VMs, more than the access).
 */
export class KeyCursor {
  key: StateKey = '';
  set = false;
  /** Split index the current key's writes go under (-1: none), or SPLIT_UNPLACED. */
  split = -1;
  /** The current key's row in the heap backend's KeyRows (-1: none yet); other backends leave it. */
  row = -1;
  private now = 0;
  private nowValid = false;

  constructor(
    private readonly clock: () => number,
    private readonly splits: SplitPlacer = NO_SPLITS,
  ) {}

  moveTo(key: StateKey, split: number, row = -1): void {
    this.key = key;
    this.set = true;
    this.split = split;
    this.row = row;
    this.nowValid = false;
  }

  /** The same key again: only the time is read afresh. */
  touch(): void {
    this.nowValid = false;
  }

  /**
   * The split the current key's writes go to. A key is attributed to a split at its first write,
   * not when it becomes current, so keys that are only read leave nothing behind.
   */
  writeSplit(): number {
    const split = this.split;
    return split >= -1 ? split : (this.split = this.splits.place(this.key));
  }

  time(): number {
    if (!this.nowValid) {
      this.now = this.clock();
      this.nowValid = true;
    }
    return this.now;
  }
}
