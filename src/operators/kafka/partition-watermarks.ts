/** Settings of event-time watermarks for a partitioned source. */
export interface WatermarkOptions {
  /** How far event time may go backwards within a partition, ms. */
  readonly maxOutOfOrdernessMs: number;
  /**
   * A partition that is caught up (no lag) and has delivered nothing for this long stops holding
   * the watermark back. Lagging partitions (e.g. paused by backpressure) never count as idle.
   */
  readonly idleTimeoutMs: number;
}

interface PartitionState {
  maxEventTime: number;
  lastActive: number;
  lag: number;
}

/**
 * Per-partition watermarks (max event time seen minus the out-of-orderness bound), combined as
 * the minimum over active partitions, as Flink's per-split watermark generation. The combined
 * watermark never goes backwards.
 */
export class PartitionWatermarks {
  private readonly partitions = new Map<string, PartitionState>();
  private emitted = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: WatermarkOptions) {
    if (!(options.maxOutOfOrdernessMs >= 0)) throw new RangeError('maxOutOfOrdernessMs must be >= 0');
    if (!(options.idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be > 0');
  }

  /** A partition joins; until it delivers it holds the watermark back (unless idle and caught up). */
  assign(partition: string, now: number, lag = Number.POSITIVE_INFINITY): void {
    if (!this.partitions.has(partition)) {
      this.partitions.set(partition, { maxEventTime: Number.NEGATIVE_INFINITY, lastActive: now, lag });
    }
  }

  /** A partition left (revoked): it no longer holds the watermark back. */
  remove(partition: string): void {
    this.partitions.delete(partition);
  }

  /** Records of `partition` arrived; `maxEventTime` is the largest event time among them. */
  observe(partition: string, maxEventTime: number, now: number, lag: number): void {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = { maxEventTime: Number.NEGATIVE_INFINITY, lastActive: now, lag };
      this.partitions.set(partition, state);
    }
    if (maxEventTime > state.maxEventTime) state.maxEventTime = maxEventTime;
    state.lastActive = now;
    state.lag = lag;
  }

  /** Latest known lag of `partition` (records between the read position and the log end). */
  updateLag(partition: string, lag: number): void {
    const state = this.partitions.get(partition);
    if (state !== undefined) state.lag = lag;
  }

  /**
   * The combined watermark at `now`: the minimum over non-idle partitions, never decreasing.
   * Undefined while nothing can be said (no partition delivered yet, or all are idle from the start).
   */
  current(now: number): number | undefined {
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const state of this.partitions.values()) {
      if (state.lag <= 0 && now - state.lastActive >= this.options.idleTimeoutMs) continue;
      active++;
      const wm = state.maxEventTime - this.options.maxOutOfOrdernessMs - 1;
      if (wm < min) min = wm;
    }
    // All idle: hold the last watermark rather than jump ahead (Flink marks the source idle).
    if (active > 0 && min > this.emitted) this.emitted = min;
    return this.emitted === Number.NEGATIVE_INFINITY ? undefined : this.emitted;
  }
}
