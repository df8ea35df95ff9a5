import type { DeadLetterSink } from './dead-letter.js';
import type { CheckpointOptions } from './execution/checkpoint-options.js';
import type { Dataflow } from './graph/dataflow.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { StateBackendKind } from './state/state-backend-choice.js';

/**
 * A job module's default export: what `node dist/run.js jobs/<name>` loads. `build` is called
 * once per run with the validated environment and returns the dataflow to execute.
 */
export interface Job {
  readonly name: string;
  readonly checkpoint: CheckpointOptions;
  /** Where keyed state lives unless STATE_BACKEND says otherwise: 'heap' (default) or 'disk' for state larger than memory. */
  readonly stateBackend?: StateBackendKind;
  /** Sample input for the embedded generator and `produce.js`: same records for the same seed. */
  readonly input?: {
    readonly topic: string;
    generate(index: number, random: () => number): unknown;
    /**
     * The message key the upstream service gives a record (the field its topic is partitioned
     * by). `produce.js` keys by it, so a `keyBy` on the same field follows the topic's
     * partitioning — what group mode (SCALE_OUT=group) needs for keyed state.
     */
    key?(record: unknown): string;
  };
  build(env: JobEnvironment): Promise<JobPlan> | JobPlan;
}

/** What a job needs from the process that runs it. */
export interface JobEnvironment {
  readonly jobName: string;
  /** Environment variables merged with command-line flags (flags win). */
  readonly settings: Readonly<Record<string, string | undefined>>;
  /** Folder for local state of the embedded default (warehouse, dead letters). */
  readonly workDir: string;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/** The dataflow to run, and where its dead letters go (default: a local JSON-lines file). */
export interface JobPlan {
  readonly flow: Dataflow;
  readonly deadLetters?: DeadLetterSink;
}

/** Declares a job; a typed identity function so job modules read as declarations. */
export function defineJob(job: Job): Job {
  return job;
}
