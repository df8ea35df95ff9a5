import type { Collector, Operator, OperatorContext } from '../runtime/operator.js';
import { JobDefinitionError } from '../errors.js';
import type { KeyedStateBackend, StateKey } from '../runtime/state/keyed-state-backend.js';
import { RecordFailureHandler } from '../runtime/record-failure-handler.js';

/** What a keyed process function sees besides the record and its state. */
export interface KeyedProcessOutput<O> {
  /** Key of the record being processed. */
  readonly key: StateKey;
  emit(record: O): void;
  /** Side output under `tag` (routed by the job graph; unrouted tags go to the runtime's fallback). */
  side(tag: string, record: unknown): void;
  /** Processing time, from the operator context. */
  now(): number;
  /** Last watermark seen (-Infinity before the first one). */
  currentWatermark(): number;
}

/** A per-record stateful function on a keyed stream; state is declared once, up front. */
export interface KeyedProcessFunction<I, O, S> {
  /** Declares the state handles (e.g. `b.valueState({ name: 'seen', ttlMs })`) once, at open. */
  declareState(backend: KeyedStateBackend): S;
  /** Called per record with the state scoped to the record's key. */
  process(record: I, state: S, out: KeyedProcessOutput<O>): void;
}

/** Per-batch output buffers behind {@link KeyedProcessOutput}: one emit per batch downstream. */
class BufferedKeyedOutput<O> implements KeyedProcessOutput<O> {
  key: StateKey = '';
  main: O[] = [];
  sides: Map<string, unknown[]> | undefined;

  constructor(private readonly ctx: OperatorContext) {}

  emit(record: O): void {
    this.main.push(record);
  }

  side(tag: string, record: unknown): void {
    if (this.sides === undefined) this.sides = new Map();
    const list = this.sides.get(tag);
    if (list === undefined) this.sides.set(tag, [record]);
    else list.push(record);
  }

  now(): number {
    return this.ctx.now();
  }

  currentWatermark(): number {
    return this.ctx.currentWatermark();
  }

  flush(out: Collector<O>): void {
    if (this.main.length > 0) {
      out.emit(this.main);
      this.main = [];
    }
    if (this.sides !== undefined) {
      for (const [tag, records] of this.sides) out.side(tag, records);
      this.sides = undefined;
    }
  }
}

/** The key selector and keyed state of a keyed stream, or a clear error naming the step. */
export function requireKeyedContext(ctx: OperatorContext, what: string): { keyedState: KeyedStateBackend; keySelector: (record: unknown) => StateKey } {
  if (ctx.keyedState === undefined || ctx.keySelector === undefined) {
    throw new JobDefinitionError(`Step '${ctx.stepId}': ${what} needs a keyed stream; apply it after keyBy(...).`);
  }
  return { keyedState: ctx.keyedState, keySelector: ctx.keySelector };
}

/**
 * Generic stateful keyed map (Flink's `KeyedProcessFunction` without timers): for each record the
 * key's state is selected and `fn.process(record, state, out)` runs. Keyed state is snapshotted
 * and restored by the runtime, so this operator has no state of its own. A record on which the
 * function throws becomes a dead letter (`transform_failed`).
 *
 * @example
 * stream.keyBy((o) => o.userId).apply('running-total', () => keyedProcessOperator({
 *   declareState: (b) => b.valueState<number>({ name: 'total' }),
 *   process: (o, total, out) => { const t = (total.get() ?? 0) + o.amount; total.set(t); out.emit({ ...o, total: t }); },
 * }))
 */
export function keyedProcessOperator<I, O, S>(fn: KeyedProcessFunction<I, O, S>): Operator<I, O> {
  let backend: KeyedStateBackend;
  let keyOf: (record: I) => StateKey;
  let state: S;
  let output: BufferedKeyedOutput<O>;
  let failures: RecordFailureHandler;
  return {
    open(ctx) {
      const keyed = requireKeyedContext(ctx, 'keyedProcess');
      backend = keyed.keyedState;
      keyOf = keyed.keySelector as (record: I) => StateKey;
      state = fn.declareState(backend);
      output = new BufferedKeyedOutput<O>(ctx);
      failures = new RecordFailureHandler(ctx);
    },
    processBatch(records, out) {
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as I;
        try {
          const key = keyOf(record);
          backend.setCurrentKey(key);
          output.key = key;
          fn.process(record, state, output);
        } catch (error) {
          failures.reject(record, error);
        }
      }
      output.flush(out);
    },
  };
}
