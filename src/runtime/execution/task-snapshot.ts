/** A task's answer to a barrier: its state for that checkpoint (Chandy–Lamport "local snapshot"). */
export interface TaskSnapshot {
  readonly taskId: string;
  readonly checkpointId: number;
  readonly bytes: Uint8Array;
}

/** Where tasks deliver snapshots (the checkpoint coordinator). */
export type SnapshotAck = (snapshot: TaskSnapshot) => void;
