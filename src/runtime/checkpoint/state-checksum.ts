/**
 * SHA-256 of stored bytes, and the check every store applies when it reads state back.
 */
import { createHash } from 'node:crypto';
import type { StateHandle } from '../checkpoint-store.js';
import { CorruptCheckpointError } from '../../errors.js';

/** Lower-case hex SHA-256, the checksum format of StateHandle. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Throws CorruptCheckpointError naming the object when bytes do not match their handle. */
export function verifyState(jobName: string, checkpointId: number, handle: StateHandle, bytes: Uint8Array, location: string): void {
  const where = `checkpoint ${checkpointId} of job '${jobName}': state object ${location}`;
  if (bytes.byteLength !== handle.bytes) {
    throw new CorruptCheckpointError(`${where} has ${bytes.byteLength} bytes, expected ${handle.bytes}`);
  }
  const actual = sha256Hex(bytes);
  if (actual !== handle.sha256) {
    throw new CorruptCheckpointError(`${where} checksum mismatch (expected sha256 ${handle.sha256}, found ${actual})`);
  }
}
