/** The context every sink of a run is created with, the same for a single pipeline and for parallel subtasks. */
import type { JobActivity } from '../activity/job-activity.js';
import type { DeadLetterSink } from '../dead-letter.js';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { SinkContext } from '../sink.js';
import type { Clock } from '../time/clock.js';

/** What a runner holds that its sinks are given. */
export interface SinkContextSource {
  readonly jobName: string;
  /** The run's checkpoint scope. */
  readonly scope: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly deadLetters: DeadLetterSink;
  /** Without a lease (tests, local runs) every commit carries token 0. */
  readonly fencingToken?: () => bigint;
  readonly activity?: JobActivity;
}

/** The context of the sink at `stepId`: a logger naming the step, the lease's fencing token, the console as observer. */
export function sinkContextFor(source: SinkContextSource, stepId: string): SinkContext {
  return {
    jobName: source.jobName,
    stepId,
    logger: source.logger.child({ step: stepId }),
    metrics: source.metrics,
    deadLetters: source.deadLetters,
    fencingToken: source.fencingToken ?? (() => 0n),
    checkpointScope: source.scope,
    clock: source.clock,
    ...(source.activity ? { observer: source.activity } : {}),
  };
}
