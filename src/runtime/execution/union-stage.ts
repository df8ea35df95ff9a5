import { Subject, type Observable } from 'rxjs';
import { END_OF_INPUT, watermark, type Barrier, type StreamElement } from '../stream-element.js';
import type { PipelineCapacity } from './pipeline-capacity.js';
import type { Clock } from '../time/clock.js';

/**
 * Merges several inputs with aligned checkpoint barriers (Chandy–Lamport as Flink does it):
 * an input that delivered barrier n is blocked — its elements are buffered — until every input
 * still running has delivered n; then the barrier goes out once and the buffers replay.
 * Buffered elements hold pipeline capacity, so a blocked input backpressures its source.
 * The output watermark is the minimum over inputs; end-of-input goes out when all inputs ended.
 */
export class UnionStage {
  readonly output = new Subject<StreamElement<unknown>>();
  private readonly blocked: boolean[];
  private readonly buffers: StreamElement<unknown>[][];
  private readonly completed: boolean[];
  private readonly endedData: boolean[];
  private readonly watermarks: number[];
  private emittedWatermark = -Infinity;
  private aligning: Barrier | undefined;
  /** Monotonic time the first input of the current alignment delivered its barrier. */
  private alignmentStarted = 0;

  constructor(
    inputs: readonly Observable<StreamElement<unknown>>[],
    private readonly capacity: PipelineCapacity,
    private readonly clock: Clock,
    /** Told how long each alignment blocked an input. */
    private readonly onAligned: (checkpointId: number, ms: number) => void = () => undefined,
  ) {
    const n = inputs.length;
    this.blocked = new Array<boolean>(n).fill(false);
    this.buffers = Array.from({ length: n }, () => []);
    this.completed = new Array<boolean>(n).fill(false);
    this.endedData = new Array<boolean>(n).fill(false);
    this.watermarks = new Array<number>(n).fill(-Infinity);
    inputs.forEach((input, i) =>
      input.subscribe({
        next: (element) => this.onElement(i, element),
        error: (error) => this.output.error(error),
        complete: () => this.onComplete(i),
      }),
    );
  }

  private onElement(input: number, element: StreamElement<unknown>): void {
    if (this.blocked[input]) {
      this.buffers[input]!.push(element);
      this.capacity.acquire();
      return;
    }
    switch (element.kind) {
      case 'data':
        this.output.next(element);
        return;
      case 'watermark':
        this.watermarks[input] = element.timestamp;
        this.emitMinWatermark();
        return;
      case 'end':
        this.endedData[input] = true;
        if (this.endedData.every(Boolean)) this.output.next(END_OF_INPUT);
        return;
      case 'barrier':
        if (this.aligning !== undefined && this.aligning.checkpointId !== element.checkpointId) {
          // Ids only grow and an input is blocked after its barrier, so this is a bug, not input.
          throw new Error(`barrier ${element.checkpointId} arrived while aligning ${this.aligning.checkpointId}`);
        }
        if (this.aligning === undefined) this.alignmentStarted = this.clock.monotonic();
        this.aligning = element;
        this.blocked[input] = true;
        if (this.allAligned()) this.release(element);
        return;
    }
  }

  private allAligned(): boolean {
    return this.blocked.every((b, i) => b || this.completed[i]);
  }

  private release(barrierElement: Barrier): void {
    this.aligning = undefined;
    this.onAligned(barrierElement.checkpointId, this.clock.monotonic() - this.alignmentStarted);
    this.output.next(barrierElement);
    this.blocked.fill(false);
    // Replay in input order; a replayed barrier may block its input again, which re-buffers.
    for (let i = 0; i < this.buffers.length; i++) {
      const buffered = this.buffers[i]!;
      this.buffers[i] = [];
      for (let j = 0; j < buffered.length; j++) {
        this.capacity.release();
        if (this.blocked[i]) {
          this.buffers[i]!.push(buffered[j]!);
          this.capacity.acquire();
        } else {
          this.onElement(i, buffered[j]!);
        }
      }
    }
  }

  private emitMinWatermark(): void {
    let min = Infinity;
    for (let i = 0; i < this.watermarks.length; i++) {
      if (!this.completed[i]) min = Math.min(min, this.watermarks[i]!);
    }
    if (min > this.emittedWatermark) {
      this.emittedWatermark = min;
      this.output.next(watermark(min));
    }
  }

  private onComplete(input: number): void {
    this.completed[input] = true;
    if (this.completed.every(Boolean)) {
      this.output.complete();
      return;
    }
    if (this.aligning !== undefined && this.allAligned()) this.release(this.aligning);
  }
}
