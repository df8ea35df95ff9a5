/**
 * Shared (incremental) state files, the same for every store: where they live, how their names
 * carry the checkpoint that wrote them, which ones retention may delete, and the streaming
 * checksum both stores verify on read.
 */
import { createHash } from 'node:crypto';
import type { CompletedCheckpoint, SharedStateFile } from '../checkpoint-store.js';
import { CheckpointError, CorruptCheckpointError } from '../../errors.js';
import { assertJobName } from './checkpoint-layout.js';

/** Folder of a scope's shared state files: `<scope>/shared/`. */
export const SHARED_DIR = 'shared';

const SHARED_NAME = /^(\d{1,15})-[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Throws CheckpointError unless `name` is a safe shared file name starting with a checkpoint id. */
export function assertSharedName(scope: string, name: string): void {
  assertJobName(scope);
  if (!SHARED_NAME.test(name) || name.length > 240 || name.includes('..')) {
    throw new CheckpointError(0, `shared state file name '${name}' must be '<checkpoint id>-' followed by [A-Za-z0-9_.-]`);
  }
}

/** The id of the checkpoint that wrote a shared file, from its name; undefined for foreign objects. */
export function writerCheckpointOf(name: string): number | undefined {
  const match = SHARED_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * Shared files of `scope` that retention may delete: not referenced by any remaining completed
 * checkpoint nor in use by the running tasks (`<scope>/<name>`), and written for a checkpoint no newer than the newest completed one (a newer file
 * may belong to a checkpoint still in progress).
 */
export function unreferencedSharedFiles(scope: string, names: readonly string[], remaining: readonly CompletedCheckpoint[], inUse: ReadonlySet<string> = new Set()): string[] {
  const newest = remaining.reduce((max, c) => Math.max(max, c.metadata.checkpointId), -1);
  if (newest < 0) return [];
  const referenced = new Set<string>();
  for (const c of remaining) for (const f of c.metadata.sharedState ?? []) if (f.scope === scope) referenced.add(f.name);
  return names.filter((name) => {
    const writer = writerCheckpointOf(name);
    return writer !== undefined && writer <= newest && !referenced.has(name) && !inUse.has(`${scope}/${name}`);
  });
}

/**
 * Passes a shared file's chunks through and checks size and SHA-256 at the end; a mismatch (or
 * a stream that ends early) is a CorruptCheckpointError naming the file.
 */
export async function* verifiedChunks(file: SharedStateFile, location: string, chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    yield chunk;
  }
  const sha256 = hash.digest('hex');
  if (bytes !== file.bytes || sha256 !== file.sha256) {
    throw new CorruptCheckpointError(`shared state file ${location} has ${bytes} bytes and sha256 ${sha256}, expected ${file.bytes} bytes and ${file.sha256}`);
  }
}

/** Counts and hashes chunks on their way to storage. */
export class ChunkDigest {
  private readonly hash = createHash('sha256');
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
