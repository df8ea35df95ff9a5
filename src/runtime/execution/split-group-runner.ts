import { FencedError, HandOverTimeoutError, JobDefinitionError, StaleAssignmentError, StreamlineError } from '../../errors.js';
import type { SplitAssignment, SplitGroup } from '../split-group.js';
import { JobRunner, type JobRunnerOptions, type JobRunResult } from './job-runner.js';
import { instanceScope } from '../checkpoint/instance-scope.js';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';

/** Options of {@link SplitGroupRunner}: a job runner's, minus what the group decides. */
export interface SplitGroupRunnerOptions extends Omit<JobRunnerOptions, 'assignment' | 'checkpointScope' | 'restoreFrom' | 'haPointer' | 'closeDeadLetters'> {
  /** This instance's id: its checkpoints go to the scope `<job>.<instanceId>`. */
  readonly instanceId: string;
  /** Told whether the instance is ready: running its assignment (restored), or owning nothing. */
  readonly onReady?: (ready: boolean) => void;
  /** After a fenced run, how long to wait for a newer assignment before running the same one again. Default 1 s. */
  readonly retryDelayMs?: number;
  /** Creates the run of one assignment (default: a JobRunner in this thread; parallel subtasks read through `group`). */
  readonly createRun?: (options: JobRunnerOptions, group: SplitGroup) => JobRun;
}

/** One run of a job: what both the in-thread JobRunner and the parallel runner offer. */
export interface JobRun {
  run(): Promise<JobRunResult>;
  stop(): Promise<void>;
  abort(error: Error): void;
}

/**
 * One instance of a job in group mode (scale-out): joins the group of instances sharing the
 * job's source splits and runs the pipeline for whatever it is assigned — one {@link JobRunner}
 * per assignment, restored split by split from the job's output. Before every rebalance the
 * current run hands its splits over: a final checkpoint whose commit records where each split
 * stands, so the next owner continues exactly there. If another instance published progress for
 * one of its splits meanwhile (this one was too slow and lost them), the run's commit is refused
 * and the run starts again from what the output holds.
 */
export class SplitGroupRunner {
  private group: SplitGroup | undefined;
  private current: { runner: JobRun; done: Promise<unknown> } | undefined;
  private stopping = false;
  private readonly stopped = new AbortController();
  private readonly scope: string;
  private readonly jobName: string;
  private readonly clock: Clock;

  constructor(private readonly options: SplitGroupRunnerOptions) {
    this.clock = options.clock ?? systemClock;
    options.flow.validate();
    this.jobName = options.flow.name;
    this.scope = instanceScope(this.jobName, options.instanceId);
  }

  /** Joins the group and runs assignments until `stop()` (or a failure other than losing splits). */
  async run(): Promise<void> {
    const { options } = this;
    const sources = options.flow.nodesOf('source');
    const source = sources[0];
    if (sources.length !== 1 || source?.source.joinGroup === undefined) {
      throw new JobDefinitionError(`Group mode (SCALE_OUT=group) needs exactly one source that can share its splits with other instances (a Kafka topic); job '${this.jobName}' has ${sources.map((s) => `'${s.id}' (${s.source.kind})`).join(', ') || 'none'}.`);
    }
    const group = await source.source.joinGroup({ jobName: this.jobName, stepId: source.id, logger: options.logger, metrics: options.metrics, clock: this.clock });
    this.group = group;
    group.onRevoke(() => this.handOver());
    const labels = { job: this.jobName };
    try {
      let assignment: SplitAssignment | undefined = await this.next(this.stopped.signal);
      while (assignment !== undefined && !this.stopping) {
        options.metrics.assignments.inc(labels);
        options.metrics.assignedSplits.set(labels, assignment.splits.length);
        options.logger.info({ generation: assignment.generation, splits: assignment.splits, scope: this.scope }, 'assignment received');
        if (assignment.splits.length === 0) {
          // More instances than splits: this one waits, healthy, for a rebalance that gives it work.
          options.onReady?.(true);
          options.metrics.ready.set(labels, 1);
          assignment = await this.next(this.stopped.signal);
          options.metrics.ready.set(labels, 0);
          continue;
        }
        const outcome = await this.runAssignment(assignment);
        if (this.stopping) break;
        if (outcome === 'fenced') {
          options.metrics.runRestarts.inc(labels);
          if (!group.isCurrent(assignment.generation)) {
            // A rebalance has begun (likely why the splits moved): its assignment is the one to run.
            assignment = await this.next(this.stopped.signal);
            continue;
          }
          // A rebalance may be on its way: prefer its assignment, else run the same one again from the table.
          assignment = (await this.nextWithin(options.retryDelayMs ?? 1_000)) ?? assignment;
          continue;
        }
        assignment = await this.next(this.stopped.signal);
      }
    } finally {
      options.onReady?.(false);
      options.metrics.assignedSplits.set(labels, 0);
      await group.leave().catch((error: unknown) => options.logger.warn({ err: (error as Error).message }, 'leaving the consumer group failed'));
      await options.deadLetters.close().catch((error: unknown) => options.logger.warn({ err: (error as Error).message }, 'closing the dead letters failed'));
    }
  }

  /** Graceful stop: the current run takes a final checkpoint and commits; then the instance leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort(new StreamlineError('stopping'));
    const current = this.current;
    if (current === undefined) return;
    await current.runner.stop();
    await current.done;
  }

  /**
   * One run for one assignment; 'fenced' when another instance took one of its splits over,
   * 'abandoned' when its hand-over timed out (it was aborted; the rebalance goes on without it).
   */
  private async runAssignment(assignment: SplitAssignment): Promise<'ended' | 'fenced' | 'abandoned'> {
    const runOptions: JobRunnerOptions = { ...this.options, checkpointScope: this.scope, assignment, closeDeadLetters: false };
    const runner = this.options.createRun?.(runOptions, this.group!) ?? new JobRunner(runOptions);
    const done = runner.run();
    this.current = { runner, done: done.catch(() => undefined) };
    try {
      const result = await done;
      this.options.logger.info({ generation: assignment.generation, lastCheckpoint: result.lastCheckpoint, restoredSplits: result.restoredSplits?.length ?? 0 }, 'run of the assignment ended');
      return 'ended';
    } catch (error) {
      if (error instanceof HandOverTimeoutError) {
        this.options.logger.warn({ generation: assignment.generation, err: error.message }, 'run aborted: its hand-over timed out; waiting for the next assignment');
        return 'abandoned';
      }
      if (this.stopping && !(error instanceof FencedError)) throw error;
      if (error instanceof FencedError || error instanceof StaleAssignmentError) {
        this.options.logger.warn({ generation: assignment.generation, err: (error as Error).message }, 'run stopped: its splits moved on without it; continuing from what the output holds');
        return 'fenced';
      }
      throw error;
    } finally {
      this.current = undefined;
    }
  }

  /**
   * The group is about to rebalance: hand the splits over — a final checkpoint and commit — before
   * it goes on. Bounded by the group's patience; past it the run is aborted without committing
   * (the next owner then continues from the previous commit).
   */
  private async handOver(): Promise<void> {
    const current = this.current;
    if (current === undefined) return;
    const timeoutMs = this.group?.handOverTimeoutMs ?? 30_000;
    const started = this.clock.monotonic();
    this.options.logger.info({ timeoutMs }, 'rebalance: handing the splits over (final checkpoint and commit)');
    void current.runner.stop();
    const patience = new AbortController();
    const timedOut = await Promise.race([current.done.then(() => false), this.clock.sleep(timeoutMs, patience.signal).then(() => true, () => false)]);
    patience.abort();
    if (timedOut) {
      current.runner.abort(new HandOverTimeoutError(`the hand-over did not finish within ${timeoutMs} ms; the next owner continues from the previous commit`));
      await current.done;
    }
    this.options.logger.info({ ms: Math.round(this.clock.monotonic() - started), timedOut }, 'hand-over done');
  }

  /** The next assignment if one arrives within `ms`, else undefined. */
  private async nextWithin(ms: number): Promise<SplitAssignment | undefined> {
    const patience = new AbortController();
    const timer = this.clock.setTimeout(() => patience.abort(new StreamlineError('no new assignment')), ms);
    try {
      return await this.next(AbortSignal.any([this.stopped.signal, patience.signal]));
    } finally {
      timer.cancel();
    }
  }

  private async next(signal: AbortSignal): Promise<SplitAssignment | undefined> {
    try {
      return await this.group!.nextAssignment(signal);
    } catch (error) {
      if (signal.aborted) return undefined;
      throw error;
    }
  }
}
