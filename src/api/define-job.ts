import type { CheckpointOptions } from '../runtime/execution/checkpoint-options.js';
import { Dataflow, type Stream } from '../runtime/graph/dataflow.js';
import type { Job, JobEnvironment } from '../runtime/job.js';
import type { StateBackendKind } from '../runtime/state/state-backend-choice.js';
import { jsonInput, type JsonInputSpec } from '../operators/sources/json-input.js';

/**
 * A job declared around its one input. The runtime reads the input — the Kafka topic when
 * `KAFKA_BROKERS` is set, otherwise the generator — validates it with the schema, sends what fails
 * to the dead letters (`<topic>.dlq`, or `<work dir>/dead-letters/<job>.jsonl`), and hands the
 * valid records to `build` as the stream of step `<name>.input`.
 *
 * @example
 * export default defineJob({
 *   name: 'refunds',
 *   input: { topic: 'refunds', schema: RefundEvent, generate: sampleRefund, key: (r) => r.order_id },
 *   build: (refunds, env) => refunds.map('to-row', toRow).sink('table', icebergTableOutput(env, { name: 'refunds', schema: refundsTable })),
 * });
 */
export interface JobDefinition<T> {
  /** Names the job's checkpoints, lease, consumer group (`streamline.<name>`), metrics and step ids. */
  readonly name: string;
  /** Default: every 10 s, 3 kept. CHECKPOINT_INTERVAL_MS / CHECKPOINT_RETAIN override. */
  readonly checkpoint?: CheckpointOptions;
  /** Where keyed state lives unless STATE_BACKEND says otherwise: 'heap' (default) or 'disk'. */
  readonly stateBackend?: StateBackendKind;
  /** The input, declared once: topic, schema, generator, message key, event time. */
  readonly input: JsonInputSpec<T>;
  /** Adds the steps after the input; every branch ends in a sink. Called once per run (and per parallel subtask). */
  build(input: Stream<T>, env: JobEnvironment): void | Promise<void>;
}

/** Declares a job around its input (see {@link JobDefinition}); the module's default export. */
export function defineJob<T>(definition: JobDefinition<T>): Job {
  const { name, input } = definition;
  return {
    name,
    ...(definition.checkpoint ? { checkpoint: definition.checkpoint } : {}),
    ...(definition.stateBackend ? { stateBackend: definition.stateBackend } : {}),
    input: {
      topic: input.topic,
      schema: input.schema,
      generate: input.generate,
      ...(input.key ? { key: input.key as (record: unknown) => string } : {}),
    },
    async build(env) {
      const flow = new Dataflow(name);
      await definition.build(flow.source('input', jsonInput(env, input)), env);
      // No dead-letter sink here: the process wires the declared input's (see Job.input).
      return { flow };
    },
  };
}
