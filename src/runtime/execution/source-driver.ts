import { Subject } from 'rxjs';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { SourceBatch, SourceReader } from '../source.js';
import type { VersionedSerializer } from '../serializer.js';
import { END_OF_INPUT, dataBatch, watermark, type Barrier, type StreamElement } from '../stream-element.js';
import type { Clock } from '../time/clock.js';
import { StepBusyTimer, type BusyMeter } from './step-busy-timer.js';
import type { SnapshotAck } from './task-snapshot.js';
import { BLOCKED_ON_MAIL, INPUT_PROCESSED, type InputBlocked } from './task-mailbox.js';

/** What one step of a source achieved (see {@link SourceDriver.step}). */
export type SourceStep = typeof INPUT_PROCESSED | InputBlocked | 'backpressured' | 'done';

type PollResult = SourceBatch<unknown> | 'end' | 'idle';

/** Everything a source driver needs besides its reader. */
export interface SourceDriverOptions {
  readonly taskId: string;
  readonly jobName: string;
  readonly positionSerializer: VersionedSerializer<unknown>;
  readonly ack: SnapshotAck;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Told once when the reader reported the end of bounded input. */
  readonly onEndOfInput: (taskId: string) => void;
  /** Told the reader's position at every barrier (what the snapshot holds). */
  readonly onPosition?: (checkpointId: number, position: unknown) => void;
  /** The task loop's busy timer (steps downstream run inside this one's emit); default: one of its own. */
  readonly busyTimer?: StepBusyTimer;
}

/**
 * Runs one source on the task's mailbox loop, one step at a time: emits a finished poll's batch
 * (and its watermark) downstream, injects a queued barrier — snapshotting the reader's position at
 * exactly that point, never while a poll is outstanding — and starts the next poll only while
 * the pipeline has room (backpressure). A reader that is always ready is the normal case: the
 * loop, not the source, decides when to yield to the event loop.
 */
export class SourceDriver {
  readonly output = new Subject<StreamElement<unknown>>();
  private readonly barriers: Barrier[] = [];
  private polling: Promise<void> | undefined;
  private result: PollResult | undefined;
  private pollFailure: { error: unknown } | undefined;
  private state: 'reading' | 'ended' | 'done' = 'reading';
  private lastWatermark = -Infinity;
  private backpressuredSince: number | undefined;
  private readonly labels: { job: string; operator: string };
  private readonly recordsOut;
  private readonly backpressure;
  private readonly busyTimer: StepBusyTimer;
  private readonly busy: BusyMeter;

  constructor(
    private readonly reader: SourceReader<unknown, unknown>,
    private readonly options: SourceDriverOptions,
  ) {
    this.labels = { job: options.jobName, operator: options.taskId };
    this.recordsOut = options.metrics.recordsOut.labels(this.labels);
    this.backpressure = options.metrics.backpressureSeconds.labels(this.labels);
    this.busyTimer = options.busyTimer ?? new StepBusyTimer(options.clock);
    this.busy = options.metrics.busyMeter(this.labels);
  }

  get taskId(): string {
    return this.options.taskId;
  }

  /** True once the bounded input is exhausted. */
  get hasEnded(): boolean {
    return this.state !== 'reading';
  }

  /** True once the stop barrier went out (or the driver was aborted): the output is complete. */
  get isDone(): boolean {
    return this.state === 'done';
  }

  /** Queues a barrier (call from mail); it goes out before the next poll, even while the pipeline is full. */
  injectBarrier(barrier: Barrier): void {
    if (this.state === 'done') return;
    this.barriers.push(barrier);
    // A poll waiting for data would hold the barrier back until its timeout.
    if (this.polling !== undefined) this.reader.wakeup?.();
  }

  /** Checkpoint `checkpointId` is durable: the reader may commit its positions externally. */
  notifyCheckpointComplete(checkpointId: number): Promise<void> {
    return this.reader.notifyCheckpointComplete(checkpointId);
  }

  close(): Promise<void> {
    return this.reader.close();
  }

  /** Stops without a final barrier (failure or hard stop); a poll in flight is abandoned. */
  abort(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.reader.wakeup?.();
    this.output.complete();
  }

  /**
   * One step, never blocking: `processed` when something went downstream, `backpressured` when
   * a poll is due but the pipeline is full, blocked on the poll in flight (or on mail, after the
   * end of input), `done` after the stop barrier. Throws what the reader's poll threw.
   */
  step(hasRoom: boolean): SourceStep {
    if (this.state === 'done') return 'done';
    const result = this.result;
    if (result !== undefined) {
      this.result = undefined;
      const started = this.busyTimer.enter();
      try {
        this.emit(result);
      } finally {
        this.busyTimer.exit(this.busy, started);
      }
      return INPUT_PROCESSED;
    }
    if (this.pollFailure !== undefined) throw this.pollFailure.error;
    if (this.polling !== undefined) return { until: this.polling };
    const barrier = this.barriers.shift();
    if (barrier !== undefined) {
      const started = this.busyTimer.enter();
      try {
        this.emitBarrier(barrier);
      } finally {
        this.busyTimer.exit(this.busy, started);
      }
      if (barrier.thenStop) {
        this.state = 'done';
        this.output.complete();
      }
      return INPUT_PROCESSED;
    }
    if (this.state === 'ended') return BLOCKED_ON_MAIL;
    if (!hasRoom) {
      this.backpressuredSince ??= this.options.clock.monotonic();
      return 'backpressured';
    }
    if (this.backpressuredSince !== undefined) {
      this.backpressure.inc((this.options.clock.monotonic() - this.backpressuredSince) / 1000);
      this.backpressuredSince = undefined;
    }
    let poll: Promise<PollResult>;
    // The reader's synchronous part (a ready batch taken and parsed, generated records) is its work.
    const started = this.busyTimer.enter();
    try {
      poll = this.reader.poll();
    } catch (error) {
      poll = Promise.reject(error);
    } finally {
      this.busyTimer.exit(this.busy, started);
    }
    const polling = poll.then(
      (r) => {
        this.result = r;
        this.polling = undefined;
      },
      (error: unknown) => {
        this.pollFailure = { error };
        this.polling = undefined;
      },
    );
    this.polling = polling;
    return { until: polling };
  }

  private emit(polled: PollResult): void {
    if (polled === 'idle') return;
    if (polled === 'end') {
      this.state = 'ended';
      // Event time is complete: fire every window before the final checkpoint.
      if (this.lastWatermark < Infinity) this.output.next(watermark(Infinity));
      this.lastWatermark = Infinity;
      this.options.metrics.observeWatermark(this.labels, Infinity);
      this.output.next(END_OF_INPUT);
      this.options.onEndOfInput(this.options.taskId);
      return;
    }
    if (polled.records.length > 0) {
      this.output.next(dataBatch(polled.records, polled.split));
      this.recordsOut.inc(polled.records.length);
    }
    if (polled.watermark !== undefined && polled.watermark > this.lastWatermark) {
      this.lastWatermark = polled.watermark;
      this.output.next(watermark(polled.watermark));
      this.options.metrics.observeWatermark(this.labels, polled.watermark);
    }
  }

  private emitBarrier(barrier: Barrier): void {
    const { options } = this;
    const position = this.reader.snapshot(barrier.checkpointId);
    options.onPosition?.(barrier.checkpointId, position);
    const sections = [{ name: 'position', version: options.positionSerializer.version, bytes: options.positionSerializer.serialize(position) }];
    options.ack({ taskId: options.taskId, checkpointId: barrier.checkpointId, sections });
    this.output.next(barrier);
    options.logger.debug({ source: options.taskId, checkpoint: barrier.checkpointId }, 'barrier injected');
  }
}
