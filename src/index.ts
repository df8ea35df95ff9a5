/**
 * streamline's public API: everything a job module needs, as `import { … } from 'streamline'`.
 * A job is a module whose default export is `defineJob({...})`; run it with
 * `node dist/run.js ./path/to/job.js` (see docs/jobs.md). Anything not exported here is internal.
 */

// Declaring a job
export { defineJob, type JobDefinition } from './api/define-job.js';
export { defineDataflowJob, type Job, type JobEnvironment, type JobInput, type JobPlan } from './runtime/job.js';
export type { CheckpointOptions } from './runtime/execution/checkpoint-options.js';
export type { StateBackendKind } from './runtime/state/state-backend-choice.js';
export { intSetting } from './runtime/int-setting.js';

// The dataflow
export { Dataflow, KeyedStream, Stream, type KeyByOptions } from './runtime/graph/dataflow.js';
export type { Collector, Operator, OperatorContext } from './runtime/operator.js';
export type { MapState, StateKey, ValueState } from './runtime/state/keyed-state-backend.js';
export type { RecordSchema, ValidationResult } from './runtime/record-schema.js';
export type { Source } from './runtime/source.js';
export type { TwoPhaseCommitSink } from './runtime/sink.js';

// Inputs
export { jsonInput, type JsonInputSpec } from './operators/sources/json-input.js';
export { datagenSource as datagen, GENERATOR_SPLITS, type DatagenOptions } from './operators/sources/datagen-source.js';
export { jsonlFileSource, type JsonlFileSourceOptions } from './operators/sources/jsonl-file-source.js';

// Operators
export { dedupOperator, DUPLICATES_TAG, type DedupOptions } from './operators/dedup.js';
export { keyedProcessOperator, type KeyedProcessFunction, type KeyedProcessOutput } from './operators/keyed-process.js';
export { tumblingEventTimeWindowOperator, LATE_TAG, type TimeWindow, type TumblingWindowOptions, type WindowAggregate } from './operators/tumbling-event-time-window.js';
export { batchWindowOperator, type BatchWindowOptions } from './operators/batch-window.js';

// Outputs
export { icebergTableOutput, type IcebergTableOutputSpec } from './operators/sinks/iceberg/iceberg-table-output.js';
export { jsonlFileSink, type JsonlFileSinkOptions } from './operators/sinks/jsonl-file-sink.js';
export { stdoutSink, type StdoutSinkOptions } from './operators/sinks/stdout-sink.js';
export { discardSink } from './operators/sinks/discard-sink.js';

// Iceberg tables
export { optional, partitionBy, required, tableSchema, type ColumnDeclaration } from './iceberg/schema-builder.js';
export type { IcebergType, PartitionSpec, PrimitiveType, Schema, Transform } from './iceberg/schema.js';

// Input schemas: the zod this build validates with, so a job module outside any package needs no install
export { z } from 'zod';

// Errors a job may throw or catch
export { ConfigError, JobDefinitionError, RecordRejectedError, StreamlineError, type DeadLetterReason } from './errors.js';
