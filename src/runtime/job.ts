import type { DeadLetterSink } from './dead-letter.js';
import type { CheckpointOptions } from './execution/checkpoint-options.js';
import type { Dataflow } from './graph/dataflow.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { RecordSchema } from './record-schema.js';
import type { StateBackendKind } from './state/state-backend-choice.js';

/**
 * A job's input as declared: its Kafka topic, the schema records are validated with, a generator
 * of sample records (the embedded default and `produce.js`) and the records' message key. The
 * runtime sends the input's dead letters to `<topic>.dlq`; `check` probes the topic.
 */
export interface JobInput {
  readonly topic: string;
  readonly schema?: RecordSchema<unknown>;
  /** Raw record `index` (JSON-like, before the schema): same records for the same seed. */
  generate(index: number, random: () => number): unknown;
  /**
   * The message key the upstream service gives a record — of the record as validated by `schema`
   * when there is one (the field its topic is partitioned by). `produce.js` keys by it, so a
   * `keyBy` on the same field follows the topic's partitioning — what group mode
   * (SCALE_OUT=group) and parallel subtasks need for keyed state.
   */
  key?(record: unknown): string;
}

/**
 * A job module's default export: what `node dist/run.js jobs/<name>` loads. `build` is called
 * once per run (and once per parallel subtask) with the validated environment and returns the
 * dataflow to execute. Made with `defineJob` (declared input) or `defineDataflowJob`.
 */
export interface Job {
  readonly name: string;
  /** Default: every 10 s, 3 kept (see CheckpointOptions); CHECKPOINT_INTERVAL_MS / CHECKPOINT_RETAIN override. */
  readonly checkpoint?: CheckpointOptions;
  /** Where keyed state lives unless STATE_BACKEND says otherwise: 'heap' (default) or 'disk' for state larger than memory. */
  readonly stateBackend?: StateBackendKind;
  /** The input as declared (see JobInput); absent for jobs that build their sources themselves. */
  readonly input?: JobInput;
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
  /**
   * Set when the job is built in one of several parallel subtasks of a process: budgets meant
   * for the whole process (Parquet workers, the sink's write buffer) are shared among them.
   */
  readonly subtask?: { readonly index: number; readonly parallelism: number };
}

/**
 * The dataflow to run, and where its dead letters go (default: the dead-letter topic of the
 * declared Kafka input, else a local JSON-lines file).
 */
export interface JobPlan {
  readonly flow: Dataflow;
  readonly deadLetters?: DeadLetterSink;
}

/**
 * Declares a job that builds its whole dataflow itself (several sources, a custom source); a
 * typed identity function so job modules read as declarations. Most jobs declare their input
 * with `defineJob` instead.
 */
export function defineDataflowJob(job: Job): Job {
  return job;
}
