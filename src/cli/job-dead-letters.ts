import { join } from 'node:path';
import { jsonInputDeadLetters } from '../operators/sources/json-input.js';
import type { DeadLetterSink } from '../runtime/dead-letter.js';
import { FileDeadLetterSink } from '../runtime/dead-letters/file-dead-letter-sink.js';
import type { Job, JobEnvironment, JobPlan } from '../runtime/job.js';

/**
 * Where a run's dead letters go: the job plan's own choice; else, for a job that declares its
 * input, the input's dead-letter topic when it reads Kafka (`<topic>.dlq`, KAFKA_DLQ_TOPIC);
 * else the local file `<work dir>/dead-letters/<job>.jsonl`.
 */
export function jobDeadLetters(job: Job, plan: JobPlan, env: JobEnvironment): DeadLetterSink {
  return (
    plan.deadLetters ??
    (job.input === undefined ? undefined : jsonInputDeadLetters(env, job.input.topic)) ??
    new FileDeadLetterSink(join(env.workDir, 'dead-letters', `${job.name}.jsonl`))
  );
}
