import type { DeadLetterSink } from './dead-letter.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { Clock } from './time/clock.js';
import type { KeyedStateBackend, StateKey } from './state/keyed-state-backend.js';

/** Receives an operator's output. Output is batched: emit arrays, not single records. */
export interface Collector<T> {
  emit(records: readonly T[]): void;
  /** Side output (e.g. late records of a window) by tag; routed by the job graph. */
  side(tag: string, records: readonly unknown[]): void;
}

/** What an operator gets when it opens. */
export interface OperatorContext {
  readonly jobName: string;
  /** Stable step id, e.g. `orders.dedup`: names the state and metrics of this operator. */
  readonly stepId: string;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly deadLetters: DeadLetterSink;
  /** Present for operators applied on a keyed stream; partitioned by key group. */
  readonly keyedState: KeyedStateBackend | undefined;
  /** The stream's key selector (from `keyBy`) for operators on a keyed stream. */
  readonly keySelector: ((record: unknown) => StateKey) | undefined;
  /** Event-time now (the last watermark seen), or -Infinity before the first one. */
  currentWatermark(): number;
  /** Processing-time now (the runtime clock's wall time). */
  now(): number;
  /** The runtime's clock, for operators that measure durations or time out (never `Date.now`). */
  readonly clock: Clock;
}

/**
 * One step of a dataflow (Arroyo-style): `processBatch` runs synchronously on a micro-batch and
 * emits through the collector. Stateful operators implement `snapshot` and get their last
 * snapshot back in `open` (undefined on a fresh start): one code path for fresh and restored.
 */
export interface Operator<I, O> {
  open(ctx: OperatorContext, restored: Uint8Array | undefined): void;
  processBatch(records: readonly I[], out: Collector<O>): void;
  /** Event time advanced; fire what is due. The runtime forwards the watermark afterwards. */
  processWatermark?(timestamp: number, out: Collector<O>): void;
  /** Bounded input ended: flush everything (fire all windows). */
  endOfInput?(out: Collector<O>): void;
  /** State as of the barrier of `checkpointId`; undefined (or absent) when stateless. */
  snapshot?(checkpointId: number): Uint8Array | undefined;
  /**
   * Group mode moves keyed state split by split, but the state `snapshot` returns belongs to no
   * split. `'reset'`: the operator may start it afresh on every run (e.g. a watermark it learns
   * again). Without it an operator that snapshots cannot run in group mode (the job is refused).
   */
  readonly operatorStateInGroupMode?: 'reset';
  close?(): void;
}
