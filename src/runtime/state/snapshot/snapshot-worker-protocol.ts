import type { CheckpointStoreSpec } from '../../checkpoint-store.js';
import type { SnapshotJob, SnapshotResult } from './snapshot-files.js';

/** Main → snapshot worker. */
export interface SnapshotRequest {
  readonly id: number;
  readonly job: SnapshotJob;
  readonly store: CheckpointStoreSpec;
}

/** Snapshot worker → main; a failure hands the changelogs back. */
export type SnapshotResponse =
  | { readonly id: number; readonly ok: true; readonly result: SnapshotResult }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly logs: readonly Uint8Array[] };

/** The ArrayBuffers of changelogs, to transfer instead of copying. */
export function logBuffers(logs: readonly Uint8Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const log of logs) buffers.add(log.buffer as ArrayBuffer);
  return [...buffers];
}
