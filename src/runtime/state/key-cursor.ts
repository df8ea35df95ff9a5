import type { StateKey } from './state-key.js';

/**
 * The current key, shared by every state handle of one backend. TTL states read the clock at most
 * once per `setCurrentKey` (a clock read costs ~100-200 ns on some VMs, more than the access).
 */
export class KeyCursor {
  key: StateKey = '';
  set = false;
  /** Split index the current key belongs to (-1: none). */
  split = -1;
  private now = 0;
  private nowValid = false;

  constructor(private readonly clock: () => number) {}

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

  time(): number {
    if (!this.nowValid) {
      this.now = this.clock();
      this.nowValid = true;
    }
    return this.now;
  }
}
