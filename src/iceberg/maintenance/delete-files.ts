/**
 * Deletes table files a few at a time. A file that cannot be deleted is reported, not thrown:
 * nothing references it any more, so it is an orphan that a later pass removes.
 */
import type { FileIO } from '../file-io.js';

/** Outcome of a batch of deletes. */
export interface DeleteOutcome {
  readonly deleted: string[];
  readonly failed: { readonly location: string; readonly error: string }[];
}

export async function deleteFiles(io: FileIO, locations: Iterable<string>, concurrency = 8): Promise<DeleteOutcome> {
  const queue = [...locations];
  const outcome: DeleteOutcome = { deleted: [], failed: [] };
  const worker = async () => {
    for (let location = queue.shift(); location !== undefined; location = queue.shift()) {
      try {
        await io.delete(location);
        outcome.deleted.push(location);
      } catch (error) {
        outcome.failed.push({ location, error: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  outcome.deleted.sort();
  return outcome;
}
