/**
 * What flows through a stream. Data travels in micro-batches so that RxJS (and every operator's
 * bookkeeping) is paid once per batch, while user functions still see one record at a time.
 */

/** A micro-batch of records, in order. */
export interface DataBatch<T> {
  readonly kind: 'data';
  readonly records: readonly T[];
  /**
   * The source split every record of the batch came from (a Kafka partition, `topic:partition`),
   * when the source reads splits. Keyed state created by these records belongs to that split, so
   * it can move to another instance together with it (scale-out).
   */
  readonly split?: string;
}

/** Checkpoint barrier: everything before it belongs to checkpoint `checkpointId`. */
export interface Barrier {
  readonly kind: 'barrier';
  readonly checkpointId: number;
  /** Epoch millis when the coordinator triggered the checkpoint. */
  readonly timestamp: number;
  /** Set for the final checkpoint of a graceful stop: sources stop after emitting it. */
  readonly thenStop: boolean;
}

/** Event-time progress: no record with an event time <= `timestamp` is expected any more. */
export interface Watermark {
  readonly kind: 'watermark';
  readonly timestamp: number;
}

/** Bounded input is exhausted; operators flush (e.g. fire all windows) and forward it. */
export interface EndOfInput {
  readonly kind: 'end';
}

export type ControlElement = Barrier | Watermark | EndOfInput;
export type StreamElement<T> = DataBatch<T> | ControlElement;

export function dataBatch<T>(records: readonly T[], split?: string): DataBatch<T> {
  return split === undefined ? { kind: 'data', records } : { kind: 'data', records, split };
}

export function barrier(checkpointId: number, timestamp: number, thenStop = false): Barrier {
  return { kind: 'barrier', checkpointId, timestamp, thenStop };
}

export function watermark(timestamp: number): Watermark {
  return { kind: 'watermark', timestamp };
}

export const END_OF_INPUT: EndOfInput = Object.freeze({ kind: 'end' });
