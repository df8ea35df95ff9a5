import { CheckpointHistory } from '../execution/checkpoint-history.js';
import type { OutputDescription, PublishedCommit, SinkObserver } from '../sink.js';
import type { Clock } from '../time/clock.js';

/** Where the job process is, as people watching it see it. */
export type JobPhase = 'starting' | 'standby' | 'running' | 'stopping' | 'finished' | 'failed';

/** A commit with the sink step that published it. */
export interface StepCommit extends PublishedCommit {
  readonly step: string;
}

/** Checkpoints and commits the console lists (Flink's dashboard keeps a similar window). */
const HISTORY = 50;

/**
 * What a job process did, beyond its metrics, for the web console, the status line and the exit
 * summary: recent checkpoints with their phases, recent sink commits, where each output is, and
 * the process's phase. One per process, shared by its runs (group mode starts a run per
 * assignment), so the history goes on across runs. Lives on the coordinating thread: in parallel
 * mode the checkpoint coordinator and the committers run there.
 */
export class JobActivity implements SinkObserver {
  readonly checkpoints = new CheckpointHistory(HISTORY);
  /** Epoch millis the process started the job. */
  readonly startedAt: number;
  /** Where dead letters go (a file or a topic), when the destination says. */
  deadLetterLocation: string | undefined;
  private currentPhase: JobPhase = 'starting';
  private phaseSince: number;
  private readonly commitLog: StepCommit[] = [];
  private readonly outputsByStep = new Map<string, OutputDescription>();

  constructor(
    readonly jobName: string,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.now();
    this.phaseSince = this.startedAt;
  }

  get phase(): JobPhase {
    return this.currentPhase;
  }

  /** Epoch millis the current phase began. */
  get since(): number {
    return this.phaseSince;
  }

  enter(phase: JobPhase): void {
    if (phase === this.currentPhase) return;
    this.currentPhase = phase;
    this.phaseSince = this.clock.now();
  }

  output(stepId: string, output: OutputDescription): void {
    this.outputsByStep.set(stepId, output);
  }

  committed(stepId: string, commit: PublishedCommit): void {
    this.commitLog.push({ step: stepId, ...commit });
    if (this.commitLog.length > HISTORY) this.commitLog.shift();
  }

  /** Recent commits, oldest first. */
  commits(): StepCommit[] {
    return [...this.commitLog];
  }

  /** Each sink step's output as last reported. */
  outputs(): { step: string; output: OutputDescription }[] {
    return [...this.outputsByStep].map(([step, output]) => ({ step, output }));
  }
}
