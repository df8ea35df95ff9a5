import { RecordRejectedError, type DeadLetterReason } from '../../errors.js';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import type { SourceContext } from '../../runtime/source.js';
import type { ConsumedMessage } from './kafka-client.js';

type Counter = { inc(value?: number): void };

/** Turns records the deserializer rejected into dead letters with their origin, counted per reason. */
export class RejectedRecords {
  private readonly counters = new Map<DeadLetterReason, Counter>();

  constructor(private readonly ctx: SourceContext) {}

  deadLetter(origin: { readonly topic: string; readonly partition: number }, message: ConsumedMessage, error: unknown): DeadLetter {
    const reason: DeadLetterReason = error instanceof RecordRejectedError ? error.reason : 'malformed_json';
    let counter = this.counters.get(reason);
    if (counter === undefined) {
      counter = this.ctx.metrics.deadLetters.labels({ job: this.ctx.jobName, operator: this.ctx.stepId, reason });
      this.counters.set(reason, counter);
    }
    counter.inc();
    return {
      reason,
      detail: error instanceof Error ? error.message : String(error),
      step: this.ctx.stepId,
      payload: message.value ?? new Uint8Array(0),
      origin: { topic: origin.topic, partition: origin.partition, offset: message.offset },
      key: message.key,
    };
  }
}
