import type { TopicPartitionOffset } from './kafka-client.js';

/**
 * Offsets of checkpoints taken and not yet known complete. Kafka's committed offsets only serve
 * external lag monitoring — the checkpoint holds the truth — so a completed checkpoint commits
 * its offsets and drops every older one (notifications may be late or skipped).
 */
export class PendingOffsetCommits {
  private readonly pending = new Map<number, readonly TopicPartitionOffset[]>();

  add(checkpointId: number, offsets: readonly TopicPartitionOffset[]): void {
    this.pending.set(checkpointId, offsets);
  }

  /** The offsets to commit once `checkpointId` completed: those of the latest pending checkpoint up to it. */
  takeCompleted(checkpointId: number): readonly TopicPartitionOffset[] | undefined {
    let latest: number | undefined;
    for (const id of this.pending.keys()) if (id <= checkpointId && (latest === undefined || id > latest)) latest = id;
    if (latest === undefined) return undefined;
    const offsets = this.pending.get(latest)!;
    for (const id of [...this.pending.keys()]) if (id <= latest) this.pending.delete(id);
    return offsets;
  }
}
