/**
 * Drives one operator the way the runtime's operator stage does (keyed state restored before
 * `open`, watermark recorded before `processWatermark`, operator + keyed state snapshotted on a
 * barrier), with an injectable clock, so operators are testable without the executor.
 */
import { systemClock } from '../../../src/runtime/time/system-clock.js';
import type { DeadLetter, DeadLetterSink } from '../../../src/runtime/dead-letter.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../src/runtime/metrics-registry.js';
import type { Collector, Operator, OperatorContext } from '../../../src/runtime/operator.js';
import type { SinkContext } from '../../../src/runtime/sink.js';
import type { SourceContext } from '../../../src/runtime/source.js';
import { HeapKeyedStateBackend, type HeapKeyedStateBackendOptions } from '../../../src/runtime/state/heap-keyed-state-backend.js';
import type { StateKey } from '../../../src/runtime/state/keyed-state-backend.js';

/** Collects what an operator emits: main output flattened and per batch, side outputs per tag. */
export class TestCollector<T> implements Collector<T> {
  readonly batches: T[][] = [];
  readonly sides = new Map<string, unknown[]>();

  emit(records: readonly T[]): void {
    this.batches.push([...records]);
  }

  side(tag: string, records: readonly unknown[]): void {
    const list = this.sides.get(tag) ?? [];
    list.push(...records);
    this.sides.set(tag, list);
  }

  /** Every main-output record so far, in order. */
  get records(): T[] {
    return this.batches.flat();
  }

  sideRecords(tag: string): unknown[] {
    return this.sides.get(tag) ?? [];
  }
}

/** Dead letters kept in memory. */
export class TestDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  send(letters: readonly DeadLetter[]): void {
    this.letters.push(...letters);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/** What a barrier produced: the operator's own bytes and the keyed backend's. */
export interface HarnessSnapshot {
  readonly operator: Uint8Array | undefined;
  readonly keyed: Uint8Array | undefined;
}

export interface HarnessOptions<I> {
  readonly stepId?: string;
  /** Present → the operator runs on a keyed stream with this key selector. */
  readonly keySelector?: (record: I) => StateKey;
  readonly backend?: Omit<HeapKeyedStateBackendOptions, 'clock'>;
  /** Initial processing time (epoch millis). */
  readonly now?: number;
}

/** One operator instance under test. */
export class OperatorHarness<I, O> {
  /** Processing time; tests move it by assignment. */
  now: number;
  watermark = -Infinity;
  readonly out = new TestCollector<O>();
  readonly deadLetters = new TestDeadLetterSink();
  readonly metrics = new MetricsRegistry();
  readonly keyedState: HeapKeyedStateBackend | undefined;
  readonly ctx: OperatorContext;
  readonly operator: Operator<I, O>;

  constructor(create: () => Operator<I, O>, private readonly options: HarnessOptions<I> = {}, restored?: HarnessSnapshot) {
    this.now = options.now ?? 1_700_000_000_000;
    const clock = () => this.now;
    this.keyedState = options.keySelector === undefined ? undefined : new HeapKeyedStateBackend({ ...options.backend, clock });
    if (this.keyedState !== undefined && restored?.keyed !== undefined) this.keyedState.restore(restored.keyed);
    this.ctx = {
      jobName: 'test',
      stepId: options.stepId ?? 'test.op',
      logger: silentLogger(),
      metrics: this.metrics,
      deadLetters: this.deadLetters,
      keyedState: this.keyedState,
      keySelector: options.keySelector as ((record: unknown) => StateKey) | undefined,
      currentWatermark: () => this.watermark,
      now: clock,
      clock: { ...systemClock, now: clock },
    };
    this.operator = create();
    this.operator.open(this.ctx, restored?.operator);
  }

  process(...records: I[]): this {
    this.operator.processBatch(records, this.out);
    return this;
  }

  advanceWatermark(timestamp: number): this {
    this.watermark = timestamp;
    this.operator.processWatermark?.(timestamp, this.out);
    return this;
  }

  end(): this {
    this.operator.endOfInput?.(this.out);
    return this;
  }

  snapshot(checkpointId = 1): HarnessSnapshot {
    return { operator: this.operator.snapshot?.(checkpointId), keyed: this.keyedState?.snapshot() };
  }

  /** A fresh operator instance restored from `snapshot`, as after a crash and restart. */
  restart(snapshot: HarnessSnapshot, create: () => Operator<I, O>, now = this.now): OperatorHarness<I, O> {
    return new OperatorHarness(create, { ...this.options, now }, snapshot);
  }
}

/** A source context for reader tests; `abort()` stops waiting polls. */
export function testSourceContext(stepId = 'test.source'): SourceContext & { readonly deadLetterSink: TestDeadLetterSink; abort(): void } {
  const controller = new AbortController();
  const deadLetterSink = new TestDeadLetterSink();
  return {
    jobName: 'test',
    stepId,
    logger: silentLogger(),
    metrics: new MetricsRegistry(),
    deadLetters: deadLetterSink,
    deadLetterSink,
    signal: controller.signal,
    clock: systemClock,
    abort: () => controller.abort(),
  };
}

/** A sink context for writer/committer tests. */
export function testSinkContext(stepId = 'test.sink'): SinkContext {
  return {
    jobName: 'test',
    stepId,
    logger: silentLogger(),
    metrics: new MetricsRegistry(),
    deadLetters: new TestDeadLetterSink(),
    fencingToken: () => 1n,
    checkpointScope: 'test',
    clock: systemClock,
  };
}
