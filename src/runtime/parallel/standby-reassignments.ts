/**
 * Rebalances of a standby-mode run in parallel subtasks. The lease holder reads every partition
 * whatever the consumer group decides; it joins a group only because the Kafka client needs one.
 * A rebalance (the consumer restarted after a broker outage, a previous instance joined or left)
 * pauses the partitions and assigns them again: each subtask is then told which of its
 * partitions are assigned now, and seeks them to where it stands (nothing is re-read, nothing
 * skipped). A partition outside every subtask's share cannot be read by this run.
 */
import { StaleAssignmentError, UnplannedSplitsError } from '../../errors.js';
import type { Logger } from '../logger.js';
import type { SplitAssignment, SplitFeed, SplitFeedLink, SplitGroup } from '../split-group.js';

export interface StandbyReassignmentOptions {
  readonly group: SplitGroup;
  readonly feed: SplitFeed;
  /** The splits each subtask was started with. */
  readonly shares: readonly (readonly string[])[];
  /** Routes a split's data to its subtask (the same as for the first assignment). */
  readonly deliver: (split: string, payload: unknown, transfer: readonly ArrayBuffer[]) => void;
  /** The link of the new assignment: subtasks' seeks, pauses and resumes go through it from now on. */
  readonly relink: (link: SplitFeedLink) => void;
  /** Tells subtask `index` which of its splits are assigned now. */
  readonly reassign: (index: number, splits: readonly string[]) => void;
  /** The run cannot go on (the group failed, or assigned splits no subtask reads). */
  readonly fail: (error: unknown) => void;
  readonly logger: Logger;
  /** Aborted when the run ends. */
  readonly signal: AbortSignal;
}

/** Follows the group's assignments after the first, until the run ends. */
export async function followStandbyReassignments(options: StandbyReassignmentOptions): Promise<void> {
  const { group, feed, shares, signal, logger } = options;
  const planned = new Set(shares.flat());
  for (;;) {
    let next: SplitAssignment;
    try {
      next = await group.nextAssignment(signal);
    } catch (error) {
      if (!signal.aborted) options.fail(error);
      return;
    }
    if (signal.aborted) return;
    const unplanned = next.splits.filter((split) => !planned.has(split));
    if (unplanned.length > 0) {
      options.fail(new UnplannedSplitsError(`the consumer group assigned ${unplanned.join(', ')}, which no subtask of this run reads (another member was in the group when it started); restarting from the last checkpoint reads every partition`));
      return;
    }
    let link: SplitFeedLink;
    try {
      link = feed.attach(next.generation, options.deliver);
    } catch (error) {
      if (error instanceof StaleAssignmentError) continue; // rebalanced again meanwhile: the next one follows
      options.fail(error);
      return;
    }
    options.relink(link);
    const assigned = new Set(next.splits);
    shares.forEach((share, index) => options.reassign(index, share.filter((split) => assigned.has(split))));
    logger.warn({ generation: next.generation, assigned: next.splits.length, of: planned.size }, 'the consumer group rebalanced; each subtask seeks its assigned partitions to where it stands');
  }
}
