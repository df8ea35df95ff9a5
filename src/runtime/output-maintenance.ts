/**
 * Maintenance of a sink's output (an Iceberg table: compaction, snapshot expiry, orphan files),
 * as the runtime sees it: the sink provides a maintainer, the runtime tells it which committables
 * must survive — those of pending commits, which a restore may still commit — because only the
 * runtime can read them out of checkpoints.
 */
import type { Logger } from './logger.js';
import type { CheckpointRef } from './checkpoint-ref.js';
import type { Clock } from './time/clock.js';

/** What a maintainer gets when it is created. */
export interface MaintenanceContext {
  readonly jobName: string;
  /** The sink's step id (`orders.table`): whose commits the output holds. */
  readonly stepId: string;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** What one pass did to one output. */
export interface OutputMaintenanceReport {
  /** The output, e.g. `sink.orders`. */
  readonly output: string;
  /** What was done, counted (`compacted-files`, `expired-snapshots`, `deleted-orphan-files`, …). */
  readonly counts: Readonly<Record<string, number>>;
  /** Tasks skipped and why, and anything else an operator should read. */
  readonly notes: readonly string[];
  /** Tasks that failed, with the error (the others still ran). */
  readonly failures: readonly string[];
}

export interface OutputMaintainer<C> {
  /** Checkpoints the output's commits name (restores read them), so checkpoint scopes holding them are kept. */
  namedCheckpoints(): Promise<readonly CheckpointRef[]>;
  /** One maintenance pass; never deletes nor rewrites what `inUse` names. */
  maintain(inUse: readonly C[]): Promise<OutputMaintenanceReport>;
  close(): Promise<void>;
}
