import type { Collector, Operator } from './operator.js';

/**
 * An operator that also fires on processing time (e.g. a batch window's max delay). The
 * runtime's contract (OperatorStage): after every `processBatch`, and from a timer armed at `nextProcessingTime()`,
 * the operator stage calls `onProcessingTime(ctx.now(), out)` on the stage's own sequence (never
 * concurrently with, or between the halves of, another element), so output stays ordered with
 * barriers and the emitted records belong to the checkpoint in progress.
 */
export interface ProcessingTimeAware<O> {
  /** Fire whatever is due at `now` (epoch millis). */
  onProcessingTime(now: number, out: Collector<O>): void;
  /** Earliest processing time at which something will be due, or undefined when nothing is pending. */
  nextProcessingTime(): number | undefined;
}

/** True when `operator` wants processing-time callbacks. */
export function isProcessingTimeAware<I, O>(operator: Operator<I, O>): operator is Operator<I, O> & ProcessingTimeAware<O> {
  const o = operator as Partial<ProcessingTimeAware<O>>;
  return typeof o.onProcessingTime === 'function' && typeof o.nextProcessingTime === 'function';
}
