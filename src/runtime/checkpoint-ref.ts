/** A checkpoint of one checkpoint scope (a job, or one instance of a job in group mode). */
export interface CheckpointRef {
  readonly scope: string;
  readonly checkpointId: number;
}

/** `<scope>/<id>`: how a checkpoint is named in logs and in an output's commit metadata. */
export function formatCheckpointRef(ref: CheckpointRef): string {
  return `${ref.scope}/${ref.checkpointId}`;
}
