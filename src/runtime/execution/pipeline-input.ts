import type { PipelineCapacity } from './pipeline-capacity.js';
import type { SinkStage } from './sink-stage.js';
import type { SourceDriver, SourceStep } from './source-driver.js';
import { BLOCKED_ON_MAIL, INPUT_FINISHED, INPUT_PROCESSED, type InputStatus, type MailboxInput } from './task-mailbox.js';

/**
 * The default action of a pipeline's mailbox loop (Arroyo's select over inputs, one step at a
 * time): first the sinks take their next queued element (draining downstream before pulling
 * more from upstream), then one source — round robin — emits its finished poll or a barrier, or
 * starts a poll if the pipeline has room. When nothing can move, the loop waits for the first
 * poll or write in flight to settle, or for mail. Operators between run synchronously inside the
 * source's emit, so one step carries a batch through the whole chain into the sinks' queues.
 */
export class PipelineInput implements MailboxInput {
  private nextSource = 0;

  constructor(
    private readonly sources: readonly SourceDriver[],
    private readonly sinks: readonly SinkStage[],
    private readonly capacity: PipelineCapacity,
    private readonly pressure: readonly InputPressure[] = [],
    private readonly exchanges?: ExchangeInputs,
  ) {}

  processInput(): InputStatus {
    let progressed = false;
    let waiting: Promise<unknown>[] | undefined;
    let open = 0;
    for (const sink of this.sinks) {
      const step = sink.step();
      if (step === 'done') continue;
      open++;
      if (step === INPUT_PROCESSED) progressed = true;
      else if (step !== 'idle') (waiting ??= []).push(step.until);
    }
    // Barriers still pass while a stage behind the sources holds data back.
    const heldBack = this.heldBack();
    if (heldBack !== undefined) (waiting ??= []).push(heldBack);
    // Exchange inputs sit between the sources and the sinks: one element each per turn.
    let sourcesHaveRoom = heldBack === undefined && this.capacity.hasRoom();
    if (this.exchanges !== undefined) {
      for (const input of this.exchanges.inputs) {
        const step = input.step(sourcesHaveRoom);
        if (step === 'done') continue;
        open++;
        if (step === INPUT_PROCESSED) progressed = true;
        else if (step !== 'backpressured') (waiting ??= []).push(step.until);
      }
      sourcesHaveRoom &&= this.exchanges.hasRoom();
    }
    const n = this.sources.length;
    for (let k = 0; k < n; k++) {
      const i = (this.nextSource + k) % n;
      const step = this.sources[i]!.step(sourcesHaveRoom);
      if (step === 'done') continue;
      open++;
      if (step === INPUT_PROCESSED) {
        this.nextSource = (i + 1) % n;
        return INPUT_PROCESSED;
      }
      if (step !== 'backpressured') (waiting ??= []).push(step.until);
    }
    if (progressed) return INPUT_PROCESSED;
    if (open === 0) return INPUT_FINISHED;
    // A backpressured source waits for a sink write (in `waiting`) to free capacity.
    const blockers = waiting?.filter((p) => p !== BLOCKED_ON_MAIL.until);
    if (blockers === undefined || blockers.length === 0) return BLOCKED_ON_MAIL;
    return { until: blockers.length === 1 ? blockers[0]! : Promise.race(blockers) };
  }

  private heldBack(): Promise<void> | undefined {
    for (const stage of this.pressure) {
      const until = stage.backpressure();
      if (until !== undefined) return until;
    }
    return undefined;
  }
}

/** A stage that can hold the pipeline's data back while it catches up (a keyed-state backend behind on its writes). */
export interface InputPressure {
  /** Undefined when it can take more data; else resolves when it can. */
  backpressure(): Promise<void> | undefined;
}

/**
 * The inputs a parallel subtask's keyed exchanges add (records from every subtask, its own
 * included), and whether their sending ends can take more (else the sources wait).
 */
export interface ExchangeInputs {
  readonly inputs: readonly { step(hasRoom: boolean): SourceStep }[];
  hasRoom(): boolean;
}
