import { FencingError } from '../../errors.js';
import type { SinkNode } from '../graph/graph-node.js';
import type { Logger } from '../logger.js';
import type { Committer, SinkContext, SplitProgress } from '../sink.js';
import type { Clock } from '../time/clock.js';
import { retryFinalStep } from './final-step-retry.js';
import type { SinkStage } from './sink-stage.js';

/** What the commit driver needs from its run. */
export interface CommitDriverOptions {
  readonly jobName: string;
  /** Where this run's checkpoints go (the job name, or one instance's scope in group mode). */
  readonly scope: string;
  readonly logger: Logger;
  /** Builds the context a sink's writer and committer get. */
  readonly sinkContext: (stepId: string) => SinkContext;
  /** Throws when this instance lost its lease; checked before every commit. */
  readonly assertMayCommit: () => void;
  readonly clock: Clock;
  /** True once the run failed: a final commit stops trying again. */
  readonly hasFailed: () => boolean;
}

/**
 * The second phase of the two-phase commit for one run: owns the sinks' committers (created
 * once, before wiring, because restore may need them), records where every source stood at each
 * barrier so commits can carry split progress, and — once a checkpoint is durable — asks every
 * sink to publish what is pending up to it. A fencing refusal (`FencingError`) means this run
 * must stop; any other commit failure leaves the commit pending for the next checkpoint — except
 * the final checkpoint's, which has no next one (see `commit`).
 */
export class CommitDriver {
  private readonly committers = new Map<string, Committer<unknown>>();
  /** Per checkpoint, each source's position split by split (when every source reads splits). */
  private readonly splitPositions = new Map<number, Map<string, Readonly<Record<string, number>>>>();
  private sourceCount: number | undefined;

  constructor(private readonly options: CommitDriverOptions) {}

  /** The context a sink's writer and committer get. */
  sinkContext(stepId: string): SinkContext {
    return this.options.sinkContext(stepId);
  }

  /** The committer of a sink node, created once per run. */
  async committerFor(node: SinkNode): Promise<Committer<unknown>> {
    let committer = this.committers.get(node.id);
    if (committer === undefined) this.committers.set(node.id, (committer = await node.sink.createCommitter(this.options.sinkContext(node.id))));
    return committer;
  }

  /** How many sources report split positions (undefined: not every source reads splits); progress is complete when all of them did. */
  expectSources(count: number | undefined): void {
    this.sourceCount = count;
  }

  /** A source (`sourceId`) stood at these split positions when it injected the barrier of `checkpointId`. */
  recordPositions(checkpointId: number, sourceId: string, splits: Readonly<Record<string, number>>): void {
    let bySource = this.splitPositions.get(checkpointId);
    if (bySource === undefined) this.splitPositions.set(checkpointId, (bySource = new Map()));
    bySource.set(sourceId, splits);
  }

  /** Where every source stood at `checkpointId`, if every source reads splits. */
  splitProgress(checkpointId: number): SplitProgress | undefined {
    const bySource = this.splitPositions.get(checkpointId);
    if (bySource === undefined || this.sourceCount === undefined || bySource.size !== this.sourceCount) return undefined;
    const positions: Record<string, number> = {};
    for (const splits of bySource.values()) Object.assign(positions, splits);
    return { positions, checkpoint: { scope: this.options.scope, checkpointId } };
  }

  /** Checkpoints of this run's scope that a sink's output still names: retention must keep them. */
  referencedCheckpoints(): ReadonlySet<number> {
    const ids = new Set<number>();
    for (const committer of this.committers.values()) for (const id of committer.referencedCheckpoints?.(this.options.scope) ?? []) ids.add(id);
    return ids;
  }

  /**
   * Checkpoint `checkpointId` is durable: every sink publishes what is pending up to it. Throws
   * the FencingError that refused a commit (the run must stop); other failures stay pending.
   * `final`: the last checkpoint of a run, which publishes progress even without data.
   */
  async commitUpTo(sinks: readonly SinkStage[], checkpointId: number, final: boolean): Promise<void> {
    for (const older of this.splitPositions.keys()) if (older <= checkpointId) this.splitPositions.delete(older);
    for (const sink of sinks) {
      try {
        await this.commit(sink.taskId, checkpointId, final, () => sink.commitUpTo(checkpointId, { final }));
      } catch (error) {
        if (error instanceof FencingError) {
          this.options.logger.error({ sink: sink.taskId, checkpoint: checkpointId, err: error }, 'commit refused: this instance is fenced');
          throw error;
        }
        this.options.logger.warn({ sink: sink.taskId, checkpoint: checkpointId, err: (error as Error).message }, 'sink commit failed; it stays pending and is retried after the next checkpoint');
      }
    }
  }

  /**
   * One sink's commit of checkpoint `checkpointId`, after the lease check. The final checkpoint's
   * (a stop's, a bounded job's end, a hand-over's) has no later checkpoint to carry it along, and
   * a job that ends with exit 0 and its last rows unpublished leaves them out of the table until
   * someone starts it again: it is tried again until it succeeds (retryFinalStep). Committers are
   * idempotent: a retry after a commit whose answer was lost publishes nothing twice.
   */
  async commit(sink: string, checkpointId: number, final: boolean, publish: () => Promise<void>): Promise<void> {
    const attempt = async () => {
      this.options.assertMayCommit();
      await publish();
    };
    if (!final) return attempt();
    const { clock, logger } = this.options;
    await retryFinalStep(attempt, {
      clock,
      hasFailed: this.options.hasFailed,
      onFailing: (error) =>
        logger.warn(
          { sink, checkpoint: checkpointId, err: (error as Error).message },
          'the final commit failed; trying again every second until the stop times out (STOP_TIMEOUT_MS); the rows are safe in the checkpoint, and a stop that times out leaves them to the next start',
        ),
      onRecovered: (waitedMs) => logger.info({ sink, checkpoint: checkpointId, waitedMs }, 'the final commit succeeded; the stop goes on'),
    });
  }

  /** Re-publishes what a restored checkpoint still had pending (committers are idempotent). */
  async recommitRestored(sinks: readonly SinkStage[]): Promise<void> {
    for (const sink of sinks) {
      const pending = sink.pendingCheckpoints;
      if (pending.length === 0) continue;
      this.options.logger.info({ sink: sink.taskId, checkpoints: pending }, 're-committing pending commits from the restored checkpoint');
      this.options.assertMayCommit();
      await sink.commitUpTo(Number.MAX_SAFE_INTEGER);
    }
  }
}
