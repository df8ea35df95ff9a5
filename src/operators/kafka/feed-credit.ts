/**
 * What the coordinator's consumer may fetch for parallel subtasks: per partition, the bytes of
 * batches sent to the subtask reading it and not yet taken off that subtask's message port. A
 * subtask pauses its partitions when its own queue is full, but only once its thread runs again:
 * while it is stalled (a long garbage collection, a slow operator) nothing else stops the
 * coordinator from posting fetch after fetch into its port. Over `limitBytes` in flight a
 * partition is paused here; it resumes once half is taken, unless its reader paused it too.
 */
export class FeedCredit {
  private readonly inFlight = new Map<string, number>();
  private readonly creditPaused = new Set<string>();
  private readonly readerPaused = new Set<string>();

  constructor(readonly limitBytes: number) {
    if (!(limitBytes > 0)) throw new RangeError(`FeedCredit limit must be positive, got ${limitBytes}`);
  }

  /** Bytes of `key` sent and not yet taken. */
  bytesInFlight(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }

  /** A batch of `key` was sent: true when the partition must be paused now. */
  sent(key: string, bytes: number): boolean {
    const total = this.bytesInFlight(key) + bytes;
    this.inFlight.set(key, total);
    if (total <= this.limitBytes || this.creditPaused.has(key)) return false;
    this.creditPaused.add(key);
    return !this.readerPaused.has(key);
  }

  /** The subtask took `bytes` of `key` off its port: true when the partition may be resumed now. */
  taken(key: string, bytes: number): boolean {
    const total = Math.max(0, this.bytesInFlight(key) - bytes);
    if (total === 0) this.inFlight.delete(key);
    else this.inFlight.set(key, total);
    if (!this.creditPaused.has(key) || total > this.limitBytes / 2) return false;
    this.creditPaused.delete(key);
    return !this.readerPaused.has(key);
  }

  /** The subtask's reader paused `key` (its queue is full). */
  readerPause(key: string): void {
    this.readerPaused.add(key);
  }

  /** The subtask's reader resumes `key`: true when the credit lets it be resumed now. */
  readerResume(key: string): boolean {
    this.readerPaused.delete(key);
    return !this.creditPaused.has(key);
  }
}
