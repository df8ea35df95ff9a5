/**
 * Scale-out (group mode): several instances of a job share a source's splits — Kafka partitions,
 * through a consumer group. The group decides who owns which split; an instance runs its
 * pipeline for the splits it owns and hands them over (final checkpoint, commit) before a
 * rebalance moves them. Kafka is the membership substrate: there is no cluster manager of ours.
 */

/** The splits one instance owns until the next rebalance. */
export interface SplitAssignment {
  /** Increases with every assignment this instance receives (not Kafka's generation id). */
  readonly generation: number;
  /** Split ids, e.g. `orders:0`, sorted. Empty when the group has more members than splits. */
  readonly splits: readonly string[];
}

/** Membership in the group of instances sharing a source's splits. */
export interface SplitGroup {
  /** Next assignment: the first one after joining, then one per rebalance. Rejects when `signal` aborts or the group fails. */
  nextAssignment(signal: AbortSignal): Promise<SplitAssignment>;
  /**
   * Awaited before every rebalance, while nothing is read: the current run hands its splits over
   * (final checkpoint and commit). The group waits for it, but only up to its rebalance timeout.
   */
  onRevoke(handler: () => Promise<void>): void;
  /** Whether the assignment of `generation` is still the current one (no rebalance began since). */
  isCurrent(generation: number): boolean;
  /** How long a hand-over may take before the group stops waiting for this instance. */
  readonly handOverTimeoutMs: number;
  /** Leaves the group: the others take over its splits. */
  leave(): Promise<void>;
  /** Present when the group can feed readers in other threads (parallel subtasks). */
  readonly feed?: SplitFeed;
}

/**
 * The coordinator's side of a source read by parallel subtasks: the group's consumer fetches,
 * and each split's data goes to the subtask that reads the split (transferred, not copied).
 */
export interface SplitFeed {
  attach(generation: number, deliver: (split: string, payload: unknown, transfer: readonly ArrayBuffer[]) => void): SplitFeedLink;
}

/** An attached feed. */
export interface SplitFeedLink {
  /** A control message from a subtask's reader (seek, pause, resume of its splits). */
  control(payload: unknown): void;
  /** Stops feeding and pauses the splits. */
  detach(): void;
  /** Acknowledges positions to the source's system (Kafka offsets) after a checkpoint completed. */
  commit(positions: Readonly<Record<string, number>>): Promise<void>;
}

/** A subtask's end of a feed: what its source reader reads through. */
export interface RemoteSplitFeed {
  /** To the coordinator: a control message. */
  send(payload: unknown): void;
  /** From the coordinator: the data of this subtask's splits. */
  onDeliver(handler: (payload: unknown) => void): void;
  /** From the coordinator: after a rebalance, which of this subtask's splits are assigned now (the reader seeks them to where it stands). */
  onReassigned(handler: (splits: readonly string[]) => void): void;
}
