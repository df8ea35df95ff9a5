import { Subject, type Observable } from 'rxjs';
import type { DeadLetterSink } from '../dead-letter.js';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { Collector, Operator, OperatorContext } from '../operator.js';
import { isProcessingTimeAware } from '../processing-time-aware.js';
import type { KeyedStateBackend, StateKey } from '../state/keyed-state-backend.js';
import { dataBatch, type StreamElement } from '../stream-element.js';
import type { Clock, Timer } from '../time/clock.js';
import { chainSection } from './keyed-state-sections.js';
import type { StateSection } from './state-envelope.js';
import { StepBusyTimer, type BusyMeter } from './step-busy-timer.js';
import type { SnapshotAck } from './task-snapshot.js';

/** Everything an operator stage needs besides its input. */
export interface OperatorStageOptions {
  readonly taskId: string;
  readonly jobName: string;
  readonly operator: Operator<unknown, unknown>;
  readonly keyedState: KeyedStateBackend | undefined;
  readonly keySelector: ((record: unknown) => StateKey) | undefined;
  readonly stateful: boolean;
  /** The operator's own restored state (keyed state is restored into `keyedState` beforehand). */
  readonly restored: Uint8Array | undefined;
  readonly ack: SnapshotAck;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly deadLetters: DeadLetterSink;
  readonly clock: Clock;
  /** Runs control work on the task's mailbox loop (processing-time timers fire through it). */
  readonly mail: (description: string, action: () => void) => void;
  /** Called when the operator throws outside per-record handling: the job fails. */
  readonly fail: (error: unknown) => void;
  /** The task loop's busy timer, shared by the steps it chains; default: one of its own. */
  readonly busyTimer?: StepBusyTimer;
}

export const OPERATOR_STATE_VERSION = 1;

/**
 * Runs one single-input operator: applies it per micro-batch, forwards control elements in
 * order, and on a barrier snapshots operator + keyed state before forwarding the barrier.
 * Side outputs receive every control element too, so sinks behind them see barriers.
 */
export class OperatorStage {
  readonly output = new Subject<StreamElement<unknown>>();
  private readonly sides = new Map<string, Subject<StreamElement<unknown>>>();
  private unconsumedSide: ((tag: string, records: readonly unknown[]) => void) | undefined;
  private watermarkNow = -Infinity;
  private readonly recordsIn;
  private readonly recordsOut;
  private readonly busyTimer: StepBusyTimer;
  private readonly busy: BusyMeter;

  constructor(
    input: Observable<StreamElement<unknown>>,
    private readonly options: OperatorStageOptions,
  ) {
    const labels = { job: options.jobName, operator: options.taskId };
    this.recordsIn = options.metrics.recordsIn.labels(labels);
    this.recordsOut = options.metrics.recordsOut.labels(labels);
    this.busyTimer = options.busyTimer ?? new StepBusyTimer(options.clock);
    this.busy = options.metrics.busyMeter(labels);
    const { operator, restored, keyedState } = options;
    this.splitConflicts = options.metrics.stateSplitConflicts.labels(labels);
    const ctx: OperatorContext = {
      jobName: options.jobName,
      stepId: options.taskId,
      logger: options.logger.child({ step: options.taskId }),
      metrics: options.metrics,
      deadLetters: options.deadLetters,
      keyedState,
      keySelector: options.keySelector,
      currentWatermark: () => this.watermarkNow,
      now: () => options.clock.now(),
      clock: options.clock,
    };
    operator.open(ctx, restored);
    input.subscribe({
      next: (element) => this.onElement(element),
      error: (error) => this.output.error(error),
      complete: () => this.onComplete(),
    });
  }

  /** The stream of records the operator emits under `tag`. */
  side(tag: string): Observable<StreamElement<unknown>> {
    let subject = this.sides.get(tag);
    if (subject === undefined) {
      subject = new Subject();
      this.sides.set(tag, subject);
    }
    return subject;
  }

  /** Where side records go for tags nobody consumes (the runtime routes them to dead letters or counts them). */
  onUnconsumedSide(handler: (tag: string, records: readonly unknown[]) => void): void {
    this.unconsumedSide = handler;
  }

  /** Split of the batch being processed: what the operator emits meanwhile comes from it. */
  private inputSplit: string | undefined;
  private readonly splitConflicts: { inc(n?: number): void };
  private conflictsSeen = 0;

  private readonly collector: Collector<unknown> = {
    emit: (records) => {
      if (records.length === 0) return;
      this.recordsOut.inc(records.length);
      this.output.next(dataBatch(records, this.inputSplit));
    },
    side: (tag, records) => {
      if (records.length === 0) return;
      const subject = this.sides.get(tag);
      if (subject !== undefined) subject.next(dataBatch(records, this.inputSplit));
      else this.unconsumedSide?.(tag, records);
    },
  };

  /** Records of a split and what they emit belong to it; timers and watermarks belong to none. */
  private enterSplit(split: string | undefined): void {
    this.inputSplit = split;
    this.options.keyedState?.setCurrentSplit(split);
  }

  private countSplitConflicts(): void {
    const total = this.options.keyedState?.splitConflicts ?? 0;
    if (total === this.conflictsSeen) return;
    if (this.conflictsSeen === 0) {
      this.options.logger.warn(
        { step: this.options.taskId },
        'a key arrived from another source partition than the one its state belongs to: the key of keyBy does not follow the topic\'s partitioning, so in group mode (SCALE_OUT=group) this state cannot follow its partition; key the Kafka records by the same field',
      );
    }
    this.splitConflicts.inc(total - this.conflictsSeen);
    this.conflictsSeen = total;
  }

  /** Processing-time callbacks (batch windows' max delay): the timer sends mail, so they run on the task's loop between units of input. */
  private timer: Timer | undefined;
  private closed = false;

  private fireProcessingTime(): void {
    const operator = this.options.operator;
    if (!isProcessingTimeAware(operator) || this.closed) return;
    try {
      const { clock } = this.options;
      const now = clock.now();
      const due = operator.nextProcessingTime();
      this.enterSplit(undefined);
      if (due !== undefined && due <= now) operator.onProcessingTime(now, this.collector);
      const next = operator.nextProcessingTime();
      this.timer?.cancel();
      this.timer = undefined;
      if (next !== undefined) {
        this.timer = clock.setTimeout(() => this.options.mail(`processing-time timer of ${this.options.taskId}`, () => this.fireProcessingTime()), next - clock.now());
      }
    } catch (error) {
      this.options.fail(error);
    }
  }

  private onElement(element: StreamElement<unknown>): void {
    const started = this.busyTimer.enter();
    try {
      this.dispatch(element);
      if (element.kind === 'data') this.fireProcessingTime();
    } finally {
      this.busyTimer.exit(this.busy, started);
    }
  }

  private dispatch(element: StreamElement<unknown>): void {
    try {
      switch (element.kind) {
        case 'data':
          this.recordsIn.inc(element.records.length);
          this.enterSplit(element.split);
          this.options.operator.processBatch(element.records, this.collector);
          if (this.options.keyedState !== undefined) {
            this.options.keyedState.afterBatch();
            this.countSplitConflicts();
          }
          return;
        case 'watermark':
          this.enterSplit(undefined);
          this.watermarkNow = element.timestamp;
          this.options.metrics.observeWatermark({ job: this.options.jobName, operator: this.options.taskId }, element.timestamp);
          this.options.operator.processWatermark?.(element.timestamp, this.collector);
          this.forward(element);
          return;
        case 'barrier': {
          if (this.options.stateful) this.snapshot(element.checkpointId);
          this.forward(element);
          return;
        }
        case 'end':
          this.enterSplit(undefined);
          this.options.operator.endOfInput?.(this.collector);
          this.forward(element);
          return;
      }
    } catch (error) {
      this.options.fail(error);
    }
  }

  private snapshot(checkpointId: number): void {
    const { options } = this;
    const sections: StateSection[] = [];
    const operatorBytes = options.operator.snapshot?.(checkpointId);
    if (operatorBytes !== undefined) sections.push({ name: 'operator', version: OPERATOR_STATE_VERSION, bytes: operatorBytes });
    const keyed = options.keyedState;
    const pending =
      keyed === undefined
        ? undefined
        : keyed.snapshot(checkpointId).then((snapshot) => ({
            sections: [chainSection(snapshot.chain)],
            sharedState: snapshot.chain.files.map(({ scope, name, bytes, sha256 }) => ({ scope, name, bytes, sha256 })),
            writtenBytes: snapshot.writtenBytes,
            fullBytes: snapshot.fullBytes,
          }));
    options.ack({ taskId: options.taskId, checkpointId, sections, ...(pending ? { pending } : {}) });
  }

  private forward(element: StreamElement<unknown>): void {
    this.output.next(element);
    for (const subject of this.sides.values()) subject.next(element);
  }

  private onComplete(): void {
    this.closed = true;
    this.timer?.cancel();
    try {
      this.options.operator.close?.();
    } catch (error) {
      this.options.logger.warn({ step: this.options.taskId, err: error }, 'operator close failed');
    }
    this.output.complete();
    for (const subject of this.sides.values()) subject.complete();
  }
}
