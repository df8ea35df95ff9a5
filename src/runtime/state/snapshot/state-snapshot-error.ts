import { StreamlineError } from '../../../errors.js';

/**
 * Writing a keyed-state file failed (store unreachable, worker failure). Retriable: the changelogs
 * it was given come back with it, so the next attempt writes them again and nothing is lost.
 */
export class StateSnapshotError extends StreamlineError {
  constructor(
    message: string,
    /** The changelogs of the failed job, still owned by the caller. */
    readonly logs: readonly Uint8Array[],
    options: { cause?: unknown } = {},
  ) {
    super(message, { retriable: true, ...options });
  }
}

/** Changelogs were lost (a snapshot worker died holding them): the state cannot be checkpointed any more, the run must restore. */
export class StateLostError extends StreamlineError {}
