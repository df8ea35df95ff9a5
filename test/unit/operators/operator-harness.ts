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
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCheckpointStore } from '../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { HeapKeyedStateBackend, type HeapKeyedStateBackendOptions } from '../../../src/runtime/state/heap/heap-keyed-state-backend.js';
import { InlineSnapshotFileWriter } from '../../../src/runtime/state/snapshot/snapshot-file-writer.js';
import type { StateChain } from '../../../src/runtime/state/snapshot/state-chain.js';
import type { Clock } from '../../../src/runtime/time/clock.js';
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

/** What a barrier produced: the operator's own bytes and the keyed backend's chain of state files. */
export interface HarnessSnapshot {
  readonly operator: Uint8Array | undefined;
  readonly keyed: StateChain | undefined;
}

export interface HarnessOptions<I> {
  readonly stepId?: string;
  /** Present → the operator runs on a keyed stream with this key selector. */
  readonly keySelector?: (record: I) => StateKey;
  readonly backend?: HeapKeyedStateBackendOptions;
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

  /** Where keyed state files go: one store per lineage of harnesses (restarts share it). */
  private readonly stateDir: string;

  /** A fresh harness; `restoredOperator` is operator (non-keyed) state to start from. Restore keyed state with `restart`. */
  constructor(
    create: () => Operator<I, O>,
    private readonly options: HarnessOptions<I> = {},
    restoredOperator?: Uint8Array,
    stateDir?: string,
  ) {
    this.now = options.now ?? 1_700_000_000_000;
    const now = () => this.now;
    const clock: Clock = { ...systemClock, now };
    this.stateDir = stateDir ?? mkdtempSync(join(tmpdir(), 'harness-state-'));
    const store = new LocalCheckpointStore(this.stateDir);
    this.keyedState =
      options.keySelector === undefined
        ? undefined
        : new HeapKeyedStateBackend(
            { stepId: options.stepId ?? 'test.op', scope: 'harness', store, writer: new InlineSnapshotFileWriter(store, clock), clock, logger: silentLogger(), workDir: this.stateDir },
            options.backend,
          );
    this.restoredOperator = restoredOperator;
    this.ctx = {
      jobName: 'test',
      stepId: options.stepId ?? 'test.op',
      logger: silentLogger(),
      metrics: this.metrics,
      deadLetters: this.deadLetters,
      keyedState: this.keyedState,
      keySelector: options.keySelector as ((record: unknown) => StateKey) | undefined,
      currentWatermark: () => this.watermark,
      now,
      clock,
    };
    this.operator = create();
    if (options.keySelector === undefined) this.operator.open(this.ctx, restoredOperator);
  }

  private restoredOperator: Uint8Array | undefined;
  private opened = false;

  /** Opens a keyed operator (after its keyed state was restored, as the runtime does). */
  private openKeyed(): void {
    if (this.opened || this.options.keySelector === undefined) return;
    this.opened = true;
    this.operator.open(this.ctx, this.restoredOperator);
  }

  process(...records: I[]): this {
    this.openKeyed();
    this.operator.processBatch(records, this.out);
    this.keyedState?.afterBatch();
    return this;
  }

  advanceWatermark(timestamp: number): this {
    this.openKeyed();
    this.watermark = timestamp;
    this.operator.processWatermark?.(timestamp, this.out);
    return this;
  }

  end(): this {
    this.openKeyed();
    this.operator.endOfInput?.(this.out);
    return this;
  }

  /** The barrier of `checkpointId`: operator state at once, keyed state once its files are written. */
  async snapshot(checkpointId = 1): Promise<HarnessSnapshot> {
    this.openKeyed();
    const operator = this.operator.snapshot?.(checkpointId);
    const keyed = this.keyedState === undefined ? undefined : (await this.keyedState.snapshot(checkpointId)).chain;
    return { operator, keyed };
  }

  /** A fresh operator instance restored from `snapshot`, as after a crash and restart. */
  async restart(snapshot: HarnessSnapshot, create: () => Operator<I, O>, now = this.now): Promise<OperatorHarness<I, O>> {
    const next = new OperatorHarness(create, { ...this.options, now }, snapshot.operator, this.stateDir);
    if (snapshot.keyed !== undefined) await next.keyedState?.restore([{ kind: 'chain', input: { chain: snapshot.keyed } }]);
    next.openKeyed();
    return next;
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
