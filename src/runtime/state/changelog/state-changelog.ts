import { IncrementalSnapshots, type IncrementalSnapshotsOptions, type KeyedStateSnapshot } from '../snapshot/incremental-snapshots.js';
import { ChangelogWriter } from './changelog-writer.js';
import { CoalescedValueWrites } from './coalesced-value-writes.js';

/** Changelog bytes after which a segment goes to the snapshot writer between barriers. */
export const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;

/**
 * The path every keyed-state change takes to a checkpoint, the same for both backends: states
 * write to the changelog (value writes coalesced per segment), a full segment goes to the
 * incremental snapshots between barriers, and the rest goes at the barrier. The backends decide
 * only what a change is and where the working copy lives.
 */
export class StateChangelog {
  /** Map states' writes and restores' replays; value states write through `valueWrites`. */
  readonly log = new ChangelogWriter();
  readonly valueWrites: CoalescedValueWrites;
  readonly snapshots: IncrementalSnapshots;
  private lastBarrier = 0;

  constructor(
    snapshots: IncrementalSnapshotsOptions,
    private readonly now: () => number,
    private readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
  ) {
    this.valueWrites = new CoalescedValueWrites(this.log, segmentBytes);
    this.snapshots = new IncrementalSnapshots(snapshots);
  }

  /** After each batch: the coalesced writes it may drain, then a full segment to the snapshot writer. */
  afterBatch(): void {
    this.valueWrites.afterBatch();
    if (this.log.bytes >= this.segmentBytes) {
      this.snapshots.flush(this.log.detach(), this.lastBarrier + 1, this.now());
      this.valueWrites.segmentSealed();
    }
  }

  /** The synchronous part of checkpoint `checkpointId`: every change since the last segment joins it. */
  checkpoint(checkpointId: number): Promise<KeyedStateSnapshot> {
    this.lastBarrier = checkpointId;
    this.valueWrites.drain();
    return this.snapshots.checkpoint(this.log.detach(), checkpointId, this.now());
  }

  /**
   * While a restore replays state into the log: full segments out (with `force`, the rest too),
   * waiting for the snapshot writer when `force` or when more than two segments are queued.
   */
  async flushRestored(force = true): Promise<void> {
    if (this.log.bytes >= this.segmentBytes || (force && this.log.bytes > 0)) this.snapshots.flush(this.log.detach(), this.lastBarrier + 1, this.now());
    if (force || this.snapshots.pendingWrites > 2) await this.snapshots.settled();
  }
}
