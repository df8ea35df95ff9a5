/**
 * A sink's pending commits as checkpoints store them (section `pending`: JSON, committables as
 * base64 of the sink's versioned serializer), and how the pending lists of several subtasks
 * combine into the requests of one commit.
 */
import { CorruptCheckpointError } from '../../errors.js';
import type { CommitRequest, SplitProgress } from '../sink.js';
import type { VersionedSerializer } from '../serializer.js';
import type { StateSection } from './state-envelope.js';

export const PENDING_SECTION = 'pending';

/** A pending commit request as stored (committables base64 of the sink's serializer). */
interface StoredRequest {
  readonly checkpointId: number;
  readonly committables: string[];
  readonly splits?: SplitProgress;
}

export function encodePendingCommits(pending: readonly CommitRequest<unknown>[], serializer: VersionedSerializer<unknown>): StateSection {
  const stored: StoredRequest[] = pending.map((p) => ({
    checkpointId: p.checkpointId,
    committables: p.committables.map((c) => Buffer.from(serializer.serialize(c)).toString('base64')),
    ...(p.splits === undefined ? {} : { splits: p.splits }),
  }));
  return { name: PENDING_SECTION, version: serializer.version, bytes: new TextEncoder().encode(JSON.stringify(stored)) };
}

export function decodePendingCommits(section: StateSection | undefined, serializer: VersionedSerializer<unknown>, owner: string): CommitRequest<unknown>[] {
  if (section === undefined) return [];
  let stored: StoredRequest[];
  try {
    stored = JSON.parse(new TextDecoder().decode(section.bytes)) as StoredRequest[];
  } catch (error) {
    throw new CorruptCheckpointError(`Pending commits of sink '${owner}' are unreadable: ${(error as Error).message}`);
  }
  return stored.map((p) => ({
    checkpointId: p.checkpointId,
    committables: p.committables.map((c) => serializer.deserialize(section.version, Buffer.from(c, 'base64'))),
    ...(p.splits === undefined ? {} : { splits: p.splits }),
  }));
}

/**
 * The pending lists of several subtasks as the requests of one commit: per checkpoint, every
 * subtask's committables together and every subtask's split positions together.
 */
export function mergePendingCommits(lists: readonly (readonly CommitRequest<unknown>[])[]): CommitRequest<unknown>[] {
  const byCheckpoint = new Map<number, { committables: unknown[]; positions: Record<string, number> | undefined; checkpoint: SplitProgress['checkpoint'] | undefined }>();
  for (const list of lists) {
    for (const request of list) {
      let merged = byCheckpoint.get(request.checkpointId);
      if (merged === undefined) byCheckpoint.set(request.checkpointId, (merged = { committables: [], positions: undefined, checkpoint: undefined }));
      merged.committables.push(...request.committables);
      if (request.splits !== undefined) {
        merged.positions = { ...merged.positions, ...request.splits.positions };
        merged.checkpoint = request.splits.checkpoint;
      }
    }
  }
  return [...byCheckpoint]
    .sort(([a], [b]) => a - b)
    .map(([checkpointId, m]) => ({
      checkpointId,
      committables: m.committables,
      ...(m.positions !== undefined && m.checkpoint !== undefined ? { splits: { positions: m.positions, checkpoint: m.checkpoint } } : {}),
    }));
}
