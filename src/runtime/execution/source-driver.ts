import { Subject } from 'rxjs';
import type { Logger } from '../logger.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { SourceReader } from '../source.js';
import type { VersionedSerializer } from '../serializer.js';
import { END_OF_INPUT, dataBatch, watermark, type Barrier, type StreamElement } from '../stream-element.js';
import type { PipelineCapacity } from './pipeline-capacity.js';
import { encodeStateEnvelope } from './state-envelope.js';
import type { SnapshotAck } from './task-snapshot.js';

/**
 * Runs one source: polls its reader only while the pipeline has room (backpressure), injects
 * barriers between batches when the coordinator asks — snapshotting the reader's position at
 * exactly that point — and turns event-time progress into watermarks.
 */
export class SourceDriver {
  readonly output = new Subject<StreamElement<unknown>>();
  private readonly barriers: Barrier[] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  private ended = false;
  private lastWatermark = -Infinity;
  private readonly labels: { job: string; operator: string };

  constructor(
    readonly taskId: string,
    private readonly reader: SourceReader<unknown, unknown>,
    private readonly positionSerializer: VersionedSerializer<unknown>,
    private readonly capacity: PipelineCapacity,
    private readonly ack: SnapshotAck,
    private readonly metrics: MetricsRegistry,
    private readonly logger: Logger,
    jobName: string,
    /** Told once when the reader reported the end of bounded input. */
    private readonly onEndOfInput: (taskId: string) => void,
    /** Told the reader's position at every barrier (what the snapshot holds). */
    private readonly onPosition?: (checkpointId: number, position: unknown) => void,
  ) {
    this.labels = { job: jobName, operator: taskId };
  }

  /** True once the bounded input is exhausted. */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** Queues a barrier; it is emitted before the next poll, even while the pipeline is full. */
  injectBarrier(barrier: Barrier): void {
    this.barriers.push(barrier);
    this.capacity.wakeAll();
    this.wake?.();
  }

  /** Checkpoint `checkpointId` is durable: the reader may commit its positions externally. */
  notifyCheckpointComplete(checkpointId: number): Promise<void> {
    return this.reader.notifyCheckpointComplete(checkpointId);
  }

  close(): Promise<void> {
    return this.reader.close();
  }

  /** Stops polling without a final barrier (failure or hard stop). */
  abort(): void {
    this.stopped = true;
    this.capacity.wakeAll();
    this.wake?.();
  }

  /** The poll loop; resolves after the stop barrier was emitted (or on abort). */
  async run(): Promise<void> {
    const recordsOut = this.metrics.recordsOut.labels(this.labels);
    const backpressure = this.metrics.backpressureSeconds.labels(this.labels);
    while (!this.stopped) {
      const next = this.barriers.shift();
      if (next !== undefined) {
        this.emitBarrier(next);
        if (next.thenStop) break;
        continue;
      }
      if (this.ended) {
        await this.sleepUntilWoken();
        continue;
      }
      if (!this.capacity.hasRoom()) {
        const started = performance.now();
        await Promise.race([this.capacity.waitForRoom(), this.sleepUntilWoken()]);
        backpressure.inc((performance.now() - started) / 1000);
        continue;
      }
      const polled = await this.reader.poll();
      if (this.stopped) break;
      if (polled === 'idle') continue;
      if (polled === 'end') {
        this.ended = true;
        // Event time is complete: fire every window before the final checkpoint.
        if (this.lastWatermark < Infinity) this.output.next(watermark(Infinity));
        this.lastWatermark = Infinity;
        this.metrics.observeWatermark(this.labels, Infinity);
        this.output.next(END_OF_INPUT);
        this.onEndOfInput(this.taskId);
        continue;
      }
      if (polled.records.length > 0) {
        this.output.next(dataBatch(polled.records, polled.split));
        recordsOut.inc(polled.records.length);
      }
      if (polled.watermark !== undefined && polled.watermark > this.lastWatermark) {
        this.lastWatermark = polled.watermark;
        this.output.next(watermark(polled.watermark));
        this.metrics.observeWatermark(this.labels, polled.watermark);
      }
    }
    this.output.complete();
  }

  private emitBarrier(barrier: Barrier): void {
    const position = this.reader.snapshot(barrier.checkpointId);
    this.onPosition?.(barrier.checkpointId, position);
    const bytes = encodeStateEnvelope([
      { name: 'position', version: this.positionSerializer.version, bytes: this.positionSerializer.serialize(position) },
    ]);
    this.ack({ taskId: this.taskId, checkpointId: barrier.checkpointId, bytes });
    this.output.next(barrier);
    this.logger.debug({ source: this.taskId, checkpoint: barrier.checkpointId }, 'barrier injected');
  }

  private sleepUntilWoken(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      if (this.barriers.length > 0 || this.stopped) this.wake();
    });
  }
}
