/**
 * Messages between the coordinator (main thread) and the subtasks (worker threads) of a
 * parallel run. The coordinator owns the lease, the checkpoint coordinator, the committers and
 * the Kafka consumer; a subtask owns a share of the source's splits, their keyed state and its
 * sink writers, and answers barriers with its tasks' snapshots.
 */
import type { CheckpointStoreSpec, SharedStateFile } from '../checkpoint-store.js';
import type { DeadLetter } from '../dead-letter.js';
import type { StateSection } from '../execution/state-envelope.js';
import type { KeyedStateRestore } from '../state/keyed-state-backend.js';
import type { StateBackendKind } from '../state/state-backend-choice.js';
import type { MessagePort } from 'node:worker_threads';

/** What one subtask starts from. */
export interface SubtaskRestore {
  /** Task id (unqualified) → its sections (operator state, sink pending; sources use `positions`). */
  readonly states: Readonly<Record<string, readonly StateSection[]>>;
  /** Keyed operator id → what its backend restores. */
  readonly keyed: Readonly<Record<string, readonly KeyedStateRestore[]>>;
  /** Source id → position of this subtask's splits (serialized with the source's serializer). */
  readonly positions: Readonly<Record<string, { readonly version: number; readonly bytes: Uint8Array }>>;
}

/** How the coordinator starts a subtask. */
export interface SubtaskStart {
  readonly type: 'start';
  /** The job module, as `run.js` was given it (resolved to a file URL). */
  readonly jobUrl: string;
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly workDir: string;
  readonly index: number;
  readonly parallelism: number;
  /** The splits this subtask reads, and the assignment generation they belong to. */
  readonly splits: readonly string[];
  readonly generation: number;
  readonly scope: string;
  readonly store: CheckpointStoreSpec;
  readonly stateBackend: StateBackendKind;
  readonly stateDir: string;
  readonly restore: SubtaskRestore;
  readonly logLevel: string;
  /** A port to every other subtask (keyed exchanges), by index; null at this subtask's own. */
  readonly peers: readonly (MessagePort | null)[];
  /** Shared by the run's subtasks: one keyed-state materialization at a time (MaterializationPermit). */
  readonly materializationPermit: SharedArrayBuffer;
  /** A port to each of the process's Parquet writer workers (ParquetWorkerHost), shared by the run's subtasks. */
  readonly parquetWorkers: readonly MessagePort[];
  /** A port to the process's keyed-state snapshot worker (SnapshotWorkerHost), when the job has keyed state. */
  readonly snapshotWorker?: MessagePort;
}

export type ToSubtask =
  /** Before `start`, from a thread started with the process: load the job module now (subtask-prestart.ts). */
  | { readonly type: 'preload'; readonly jobUrl: string }
  | SubtaskStart
  | { readonly type: 'barrier'; readonly checkpointId: number; readonly timestamp: number; readonly thenStop: boolean }
  /** Checkpoint `checkpointId` completed, and the coordinator committed the sinks up to it. */
  | { readonly type: 'checkpoint-complete'; readonly checkpointId: number; readonly committed: boolean }
  /** Retention after `checkpointId` ran (or it was aborted): its files are protected by metadata alone. */
  | { readonly type: 'checkpoint-finished'; readonly checkpointId: number }
  /** Data of this subtask's splits from the coordinator's group (see SplitFeed). */
  | { readonly type: 'feed'; readonly payload: unknown }
  /** The coordinator's group rebalanced: of this subtask's splits, these are assigned now (see standby-reassignments.ts). */
  | { readonly type: 'feed-reassigned'; readonly splits: readonly string[] }
  | { readonly type: 'metrics-request'; readonly id: number }
  /** End the run: close everything (after the stop checkpoint, or on failure). */
  | { readonly type: 'close' };

/** An error as it crosses the thread boundary. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** `instanceof` checks of the original, so the coordinator can react by class. */
  readonly fencing: boolean;
  readonly retriable: boolean;
}

export type FromSubtask =
  | { readonly type: 'ready' }
  | {
      readonly type: 'ack';
      readonly taskId: string;
      readonly checkpointId: number;
      readonly sections: readonly StateSection[];
      /** Set when an asynchronous part follows in an `ack-async` with the same id. */
      readonly asyncId?: number;
    }
  | {
      readonly type: 'ack-async';
      readonly asyncId: number;
      readonly ok: true;
      readonly sections: readonly StateSection[];
      readonly sharedState: readonly SharedStateFile[];
      readonly writtenBytes: number;
      readonly fullBytes: number;
      /** Every shared file this subtask references or is writing now (retention keeps them). */
      readonly inUse: readonly string[];
    }
  | { readonly type: 'ack-async'; readonly asyncId: number; readonly ok: false; readonly error: WireError }
  | { readonly type: 'dead-letters'; readonly letters: readonly DeadLetter[] }
  /** The subtask's sink is about to write Parquet: the process's workers should run. */
  | { readonly type: 'parquet-workers-wanted' }
  /** Every source of the subtask reached the end of its bounded input. */
  | { readonly type: 'input-ended' }
  /** The pipeline finished after the stop barrier. */
  | { readonly type: 'done' }
  | { readonly type: 'failed'; readonly error: WireError }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: unknown[] }
  /** A reader's control of its splits (seek, pause, resume) for the coordinator's group. */
  | { readonly type: 'feed-control'; readonly payload: unknown }
  | { readonly type: 'closed' };
