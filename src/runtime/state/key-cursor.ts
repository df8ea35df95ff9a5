import type { StateKey } from './state-key.js';

/** `KeyCursor.split` until the current key is looked up under the current split. */
export const SPLIT_UNPLACED = -3;
/** `KeyCursor.split` of a current key that has no split yet: its first write attributes it to the current split. */
export const SPLIT_UNATTRIBUTED = -2;

/** Where keys belong (see SplitAttribution); what the cursor asks when a key's split is not settled. */
export interface SplitPlacer {
  /** The key's split, SPLIT_UNATTRIBUTED when it has none yet, or -1 when there is no current split. */
  place(key: StateKey): number;
  /** Attributes a key without a split to the current split; returns it (-1: none). */
  claim(key: StateKey): number;
}

const NO_SPLITS: SplitPlacer = { place: () => -1, claim: () => -1 };

/**
 * The current key, shared by every state handle of one backend. TTL states read the clock at most
 * once per `setCurrentKey` (a clock read costs ~100-200 ns on some VMs, more than the access).
 */
export class KeyCursor {
  key: StateKey = '';
  set = false;
  /** Split index the current key belongs to (-1: none), or SPLIT_UNPLACED / SPLIT_UNATTRIBUTED. */
  split = -1;
  private now = 0;
  private nowValid = false;

  constructor(
    private readonly clock: () => number,
    private readonly splits: SplitPlacer = NO_SPLITS,
  ) {}

  moveTo(key: StateKey, split: number): void {
    this.key = key;
    this.set = true;
    this.split = split;
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
    return split >= -1 ? split : this.settleSplit(split);
  }

  private settleSplit(split: number): number {
    if (split === SPLIT_UNPLACED) split = this.splits.place(this.key);
    if (split === SPLIT_UNATTRIBUTED) split = this.splits.claim(this.key);
    return (this.split = split);
  }

  time(): number {
    if (!this.nowValid) {
      this.now = this.clock();
      this.nowValid = true;
    }
    return this.now;
  }
}
