/**
 * Completeness checks shared by every checkpoint store, so a checkpoint is accepted, refused or
 * skipped for the same reasons (and with the same messages) whatever holds its objects.
 */
import type { CheckpointMetadata, CompletedCheckpoint } from '../checkpoint-store.js';
import { CheckpointError, CorruptCheckpointError } from '../../errors.js';
import { decodeMetadata } from './metadata-codec.js';
import type { CheckpointScan } from './retention-plan.js';

/** Stored size in bytes of one object of a checkpoint, by name; undefined when it is missing. */
export type ObjectSizeLookup = (name: string) => number | undefined | Promise<number | undefined>;

/** Where a checkpoint's objects are, and how to read its `_metadata` and object sizes. */
export interface CheckpointObjects {
  readonly jobName: string;
  readonly checkpointId: number;
  /** Reported as CompletedCheckpoint.location and in error messages. */
  readonly location: string;
  /** The `_metadata` bytes, or undefined when there is none. */
  readMetadata(): Promise<Uint8Array | undefined>;
  readonly sizeOf: ObjectSizeLookup;
}

/**
 * Throws CheckpointError unless every state object the metadata names is stored with its size;
 * run before writing `_metadata`, which must never point at objects that are not durable.
 */
export async function assertStateObjectsStored(metadata: CheckpointMetadata, sizeOf: ObjectSizeLookup): Promise<void> {
  for (const handle of Object.values(metadata.operators)) {
    const size = await sizeOf(handle.name);
    if (size !== handle.bytes) {
      throw new CheckpointError(
        metadata.checkpointId,
        size === undefined ? `state object '${handle.name}' is missing` : `state object '${handle.name}' has ${size} bytes, expected ${handle.bytes}`,
      );
    }
  }
}

/**
 * Cheap completeness check: `_metadata` valid and every state object present with the right
 * size (content checksums are verified when state is read). Throws CorruptCheckpointError.
 */
export async function inspectCheckpoint(objects: CheckpointObjects): Promise<CompletedCheckpoint> {
  const { jobName, checkpointId, location } = objects;
  const where = `checkpoint ${checkpointId} of job '${jobName}' (${location})`;
  const bytes = await objects.readMetadata();
  if (bytes === undefined) throw new CorruptCheckpointError(`${where} is incomplete: no _metadata (crashed or still in progress)`);
  const metadata = decodeMetadata(bytes, { jobName, checkpointId, location });
  for (const [stepId, handle] of Object.entries(metadata.operators)) {
    const size = await objects.sizeOf(handle.name);
    if (size === undefined) throw new CorruptCheckpointError(`${where}: state object '${handle.name}' of step '${stepId}' is missing`);
    if (size !== handle.bytes) {
      throw new CorruptCheckpointError(`${where}: state object '${handle.name}' of step '${stepId}' has ${size} bytes, _metadata says ${handle.bytes}`);
    }
  }
  return { metadata, location };
}

/**
 * Inspects checkpoints newest first; a corrupt or incomplete one is skipped with its reason,
 * any other error (an unreachable store) propagates.
 */
export async function scanCheckpoints(ids: readonly number[], inspect: (checkpointId: number) => Promise<CompletedCheckpoint>): Promise<CheckpointScan> {
  const scan: CheckpointScan = { completed: [], skipped: [] };
  for (const checkpointId of [...ids].sort((a, b) => b - a)) {
    try {
      scan.completed.push(await inspect(checkpointId));
    } catch (err) {
      if (!(err instanceof CorruptCheckpointError)) throw err;
      scan.skipped.push({ checkpointId, reason: err.message });
    }
  }
  return scan;
}
