import type { DeadLetterReason } from '../errors.js';

/** A record the job could not accept, kept with the reason and where it came from. */
export interface DeadLetter {
  readonly reason: DeadLetterReason;
  /** Human-readable detail, e.g. the JSON parse error or the failing schema path. */
  readonly detail: string;
  /** Step id that rejected the record. */
  readonly step: string;
  /** The original bytes (or the record re-serialized when the raw form is gone). */
  readonly payload: Uint8Array | string;
  /** Origin in the source, when known (Kafka topic/partition/offset). */
  readonly origin?: { readonly topic: string; readonly partition: number; readonly offset: string };
  readonly key?: Uint8Array | string | null;
}

/**
 * Where dead letters go. `flush` is called on every checkpoint barrier before the checkpoint
 * can complete, so a dead letter is durable no later than the input offsets that skip it.
 */
export interface DeadLetterSink {
  /** Where they go, for people: a file path or `kafka topic <name>`. */
  readonly location?: string;
  send(letters: readonly DeadLetter[]): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
