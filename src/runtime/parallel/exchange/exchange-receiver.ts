/**
 * The receiving end of a keyed exchange in one subtask: one channel per subtask (itself
 * included), merged into the keyed step's input on the task loop, one element per step. It
 * aligns checkpoint barriers as a union does (a channel that delivered barrier n waits, its
 * elements left in its inbox — so its sender runs out of credit — until every channel delivered
 * n), forwards the minimum watermark over the channels, and ends when every channel ended. Data
 * is taken only while the pipeline downstream has room; taking an element returns its credit.
 */
import { Subject } from 'rxjs';
import { StreamlineError } from '../../../errors.js';
import { END_OF_INPUT, watermark, type Barrier, type StreamElement } from '../../stream-element.js';
import type { Clock } from '../../time/clock.js';
import { INPUT_PROCESSED } from '../../execution/task-mailbox.js';
import type { SourceStep } from '../../execution/source-driver.js';
import type { ExchangeHub } from './exchange-hub.js';
import { ExchangeInbox } from './exchange-inbox.js';
import type { ChannelElement } from './exchange-wire.js';

/** Credit goes back in small batches (or when a channel's inbox runs empty): fewer messages. */
const CREDIT_BATCH = 4;

export class ExchangeReceiver {
  readonly output = new Subject<StreamElement<unknown>>();
  private readonly inboxes: ExchangeInbox[];
  private readonly blocked: boolean[];
  private readonly completed: boolean[];
  private readonly ended: boolean[];
  private readonly watermarks: number[];
  private readonly owed: number[];
  private emittedWatermark = -Infinity;
  private aligning: Barrier | undefined;
  private alignmentStarted = 0;
  private next = 0;
  private done = false;

  constructor(
    private readonly x: number,
    private readonly hub: ExchangeHub,
    private readonly clock: Clock,
    /** Told how long each alignment blocked a channel. */
    private readonly onAligned: (checkpointId: number, ms: number) => void,
  ) {
    const n = hub.parallelism;
    this.inboxes = Array.from({ length: n }, () => new ExchangeInbox());
    this.blocked = new Array<boolean>(n).fill(false);
    this.completed = new Array<boolean>(n).fill(false);
    this.ended = new Array<boolean>(n).fill(false);
    this.watermarks = new Array<number>(n).fill(-Infinity);
    this.owed = new Array<number>(n).fill(0);
    hub.receiver(x, this);
  }

  deliver(channel: number, elements: readonly ChannelElement[]): void {
    this.inboxes[channel]!.push(elements);
  }

  /**
   * One element into the keyed step, never blocking: `processed`, `backpressured` (only data is
   * waiting and the pipeline is full), blocked until a peer sends something, or `done`.
   */
  step(hasRoom: boolean): SourceStep {
    if (this.done) return 'done';
    const n = this.inboxes.length;
    let full = false;
    for (let k = 0; k < n; k++) {
      const c = (this.next + k) % n;
      if (this.blocked[c] || this.completed[c]) continue;
      const inbox = this.inboxes[c]!;
      const head = inbox.peek();
      if (head === undefined) continue;
      if (head.kind === 'data' && !hasRoom) {
        full = true;
        continue;
      }
      inbox.take();
      this.returnCredit(c, inbox.size === 0);
      this.next = (c + 1) % n;
      this.process(c, head);
      return INPUT_PROCESSED;
    }
    return full ? 'backpressured' : { until: this.hub.activity() };
  }

  private returnCredit(channel: number, drained: boolean): void {
    const owed = ++this.owed[channel]!;
    if (owed >= CREDIT_BATCH || drained) {
      this.owed[channel] = 0;
      this.hub.credit(channel, this.x, owed);
    }
  }

  private process(channel: number, element: ChannelElement): void {
    switch (element.kind) {
      case 'data':
        this.output.next(element);
        return;
      case 'watermark':
        this.watermarks[channel] = element.timestamp;
        this.emitMinWatermark();
        return;
      case 'end':
        this.ended[channel] = true;
        if (this.ended.every(Boolean)) this.output.next(END_OF_INPUT);
        return;
      case 'barrier':
        if (this.aligning !== undefined && this.aligning.checkpointId !== element.checkpointId) {
          throw new StreamlineError(`internal: barrier ${element.checkpointId} arrived while aligning ${this.aligning.checkpointId}`);
        }
        if (this.aligning === undefined) this.alignmentStarted = this.clock.monotonic();
        this.aligning = element;
        this.blocked[channel] = true;
        if (this.allAligned()) this.release(element);
        return;
      case 'complete':
        this.completed[channel] = true;
        if (this.completed.every(Boolean)) {
          this.done = true;
          this.output.complete();
          return;
        }
        this.emitMinWatermark();
        if (this.aligning !== undefined && this.allAligned()) this.release(this.aligning);
        return;
    }
  }

  private allAligned(): boolean {
    return this.blocked.every((b, i) => b || this.completed[i]);
  }

  private release(barrier: Barrier): void {
    this.aligning = undefined;
    this.onAligned(barrier.checkpointId, this.clock.monotonic() - this.alignmentStarted);
    this.blocked.fill(false);
    this.output.next(barrier);
  }

  private emitMinWatermark(): void {
    let min = Infinity;
    let open = 0;
    for (let i = 0; i < this.watermarks.length; i++) {
      if (this.completed[i]) continue;
      open++;
      min = Math.min(min, this.watermarks[i]!);
    }
    if (open > 0 && min > this.emittedWatermark) {
      this.emittedWatermark = min;
      this.output.next(watermark(min));
    }
  }
}
