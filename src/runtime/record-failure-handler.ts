import type { OperatorContext } from './operator.js';
import { StateCapacityError } from './state/state-errors.js';

/**
 * What happens when a user function throws on one record: the record becomes a dead letter
 * (reason `transform_failed`, naming the step and the error) and the batch goes on. A job never
 * loses a record silently, and one bad record does not crash-loop the job. An error no record
 * causes (keyed state at its capacity) is thrown on: it fails the task, and would otherwise send
 * every record after it to dead letters.
 */
export class RecordFailureHandler {
  private logged = 0;

  constructor(private readonly ctx: OperatorContext) {}

  reject(record: unknown, error: unknown): void {
    if (error instanceof StateCapacityError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    if (this.logged < 10) {
      this.logged++;
      this.ctx.logger.warn({ step: this.ctx.stepId, err: detail }, 'user function failed; record sent to dead letters');
    }
    this.ctx.metrics.deadLetters.inc({ job: this.ctx.jobName, operator: this.ctx.stepId, reason: 'transform_failed' });
    this.ctx.deadLetters.send([
      { reason: 'transform_failed', detail: `step '${this.ctx.stepId}': ${detail}`, step: this.ctx.stepId, payload: safeJson(record) },
    ]);
  }
}

function safeJson(record: unknown): string {
  try {
    return JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(record);
  } catch {
    return String(record);
  }
}
