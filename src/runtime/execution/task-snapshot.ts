import type { SharedStateFile } from '../checkpoint-store.js';
import type { StateSection } from './state-envelope.js';

/**
 * A task's answer to a barrier: its state for that checkpoint (Chandy–Lamport "local snapshot").
 * `sections` are taken synchronously at the barrier; `pending` is the asynchronous part (keyed
 * state files written while processing goes on), which the checkpoint waits for.
 */
export interface TaskSnapshot {
  readonly taskId: string;
  readonly checkpointId: number;
  readonly sections: readonly StateSection[];
  readonly pending?: Promise<AsyncSnapshotPart>;
}

/** What the asynchronous part of a task's snapshot adds. */
export interface AsyncSnapshotPart {
  readonly sections: readonly StateSection[];
  /** Shared state files the task's state references (retention keeps them with the checkpoint). */
  readonly sharedState: readonly SharedStateFile[];
  /** Bytes written for this checkpoint. */
  readonly writtenBytes: number;
  /** Bytes of the task's whole state as stored. */
  readonly fullBytes: number;
}

/** Where tasks deliver snapshots (the checkpoint coordinator). */
export type SnapshotAck = (snapshot: TaskSnapshot) => void;
