/**
 * Names shared by every checkpoint store: `<job>/chk-<id>/<state object>` and `_metadata`.
 * Names are validated here so that no job or step id can escape its folder or collide with
 * the reserved `_metadata` / temp-file names.
 */
import { CheckpointError, JobDefinitionError } from '../../errors.js';

/** Object written last; its presence (and validity) is what makes a checkpoint complete. */
export const METADATA_NAME = '_metadata';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const CHECKPOINT_DIR = /^chk-(\d{1,15})$/;

/** Throws JobDefinitionError when a job name cannot be used as one path segment. */
export function assertJobName(jobName: string): void {
  if (!SAFE_SEGMENT.test(jobName) || jobName.length > 200 || jobName.includes('..')) {
    throw new JobDefinitionError(`job name '${jobName}' must be 1-200 characters of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
}

/** Throws CheckpointError when a checkpoint id is not a non-negative safe integer. */
export function assertCheckpointId(checkpointId: number): void {
  if (!Number.isSafeInteger(checkpointId) || checkpointId < 0) {
    throw new CheckpointError(checkpointId, 'checkpoint id must be a non-negative safe integer');
  }
}

/** Throws CheckpointError when a state object name is unsafe or reserved (`_…`, `.…`). */
export function assertStateName(checkpointId: number, name: string): void {
  if (!SAFE_SEGMENT.test(name) || name.length > 200 || name.includes('..')) {
    throw new CheckpointError(checkpointId, `state object name '${name}' must be 1-200 characters of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
}

/** Folder (or key segment) of one checkpoint: `chk-<id>`. */
export function checkpointDirName(checkpointId: number): string {
  return `chk-${checkpointId}`;
}

/** Parses `chk-<id>`; undefined for anything else (temp files, foreign objects). */
export function parseCheckpointDirName(name: string): number | undefined {
  const match = CHECKPOINT_DIR.exec(name);
  return match ? Number(match[1]) : undefined;
}
