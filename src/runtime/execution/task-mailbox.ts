import type { Clock } from '../time/clock.js';

/** What one call of {@link MailboxInput.processInput} achieved. */
export type InputStatus =
  /** Some input was processed; there may be more right away. */
  | typeof INPUT_PROCESSED
  /** Every input ended and everything downstream drained: the loop ends. */
  | typeof INPUT_FINISHED
  /** Nothing can be processed until `until` settles (a poll, a sink write) or mail arrives. */
  | InputBlocked;

export const INPUT_PROCESSED = 'processed' as const;
export const INPUT_FINISHED = 'finished' as const;

export interface InputBlocked {
  readonly until: Promise<unknown>;
}

/** A slice also ends after this many steps, so a loop in virtual time (a clock that stands still) cannot spin either. */
const MAX_UNITS_PER_SLICE = 128;

/** Never settles: input that can only be unblocked by mail (e.g. a source waiting for its stop barrier). */
const ONLY_MAIL: Promise<unknown> = new Promise(() => undefined);

/** An input that is blocked until mail arrives. */
export const BLOCKED_ON_MAIL: InputBlocked = { until: ONLY_MAIL };

/** The default action of a mailbox loop: one unit of input (a batch through the chain), never blocking. */
export interface MailboxInput {
  processInput(): InputStatus;
}

/** Options of {@link TaskMailbox}. */
export interface TaskMailboxOptions {
  readonly clock: Clock;
  /** Longest run of input before the loop yields a macrotask turn to the event loop, ms. Default 5. */
  readonly sliceMs?: number;
  /** A mail threw: the task fails (mail is control work; it must not throw). */
  readonly onMailError: (error: unknown, description: string) => void;
}

/** Counters of one loop, for metrics and benchmarks. */
export interface MailboxStats {
  /** Mail actions run. */
  mails: number;
  /** Times the loop yielded to the event loop because its slice was used up. */
  yields: number;
  /** Time spent processing input, ms. */
  busyMs: number;
}

interface Mail {
  readonly description: string;
  readonly action: () => void;
}

/**
 * The task's one loop, as Flink's `MailboxProcessor`: control work — checkpoint triggers and
 * barrier injection, processing-time timers, checkpoint-complete notices, stop — arrives as mail
 * and runs before the next unit of input; input runs in slices bounded by `sliceMs`, and between
 * slices the loop yields a macrotask turn, so I/O, timers (lease renewal), HTTP (health), worker
 * messages and signals always get their turn, however fast the sources are. Everything that
 * touches the pipeline's operators, readers and writers runs on this loop, one thing at a time.
 */
export class TaskMailbox {
  readonly stats: MailboxStats = { mails: 0, yields: 0, busyMs: 0 };
  private readonly clock: Clock;
  private readonly sliceMs: number;
  private readonly queue: Mail[] = [];
  private wake: (() => void) | undefined;
  private state: 'new' | 'running' | 'closed' = 'new';

  constructor(private readonly options: TaskMailboxOptions) {
    this.clock = options.clock;
    this.sliceMs = options.sliceMs ?? 5;
    if (!(this.sliceMs > 0)) throw new RangeError(`TaskMailbox: sliceMs must be > 0, got ${this.sliceMs}`);
  }

  /**
   * Queues control work; it runs on the loop before the next unit of input. Mail sent before the
   * loop starts waits for it; mail sent after the loop ended runs at once (nothing else runs then).
   */
  send(description: string, action: () => void): void {
    if (this.state === 'closed') {
      this.runOne({ description, action });
      return;
    }
    this.queue.push({ description, action });
    this.wake?.();
  }

  /** Ends the loop after the mail or unit of input it is running (failure or hard stop). */
  close(): void {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    this.wake?.();
    if (!wasRunning) this.drainMail();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Runs mail and input until the input finished or `close()`; then runs the mail still queued. */
  async run(input: MailboxInput): Promise<void> {
    if (this.state !== 'new') throw new Error(`TaskMailbox.run: the loop is ${this.state}`);
    this.state = 'running';
    const clock = this.clock;
    let sliceStart = clock.monotonic();
    let units = 0;
    try {
      while (this.state === 'running') {
        if (this.queue.length > 0) {
          this.drainMail();
        } else {
          const started = clock.monotonic();
          const status = input.processInput();
          this.stats.busyMs += clock.monotonic() - started;
          if (status === INPUT_FINISHED) break;
          // Waiting on a promise is no turn of the event loop when it settles as a microtask (a
          // reader or writer that is ready at once), so the slice counts wall time since the last yield.
          if (status !== INPUT_PROCESSED) await this.waitFor(status.until);
        }
        if (++units >= MAX_UNITS_PER_SLICE || clock.monotonic() - sliceStart >= this.sliceMs) {
          this.stats.yields++;
          await clock.yieldToEventLoop();
          sliceStart = clock.monotonic();
          units = 0;
        }
      }
    } finally {
      this.state = 'closed';
      this.wake = undefined;
      this.drainMail();
    }
  }

  /** Until `until` settles, mail arrives or the loop is closed. */
  private waitFor(until: Promise<unknown>): Promise<void> {
    if (this.queue.length > 0 || this.state !== 'running') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      this.wake = done;
      if (until !== ONLY_MAIL) until.then(done, done);
    });
  }

  private drainMail(): void {
    while (this.queue.length > 0) this.runOne(this.queue.shift()!);
  }

  private runOne(mail: Mail): void {
    this.stats.mails++;
    try {
      mail.action();
    } catch (error) {
      this.options.onMailError(error, mail.description);
    }
  }
}
