/**
 * Checkpoint store on a local (or mounted) filesystem — the embedded default.
 * Every object is written to a temp file, fsynced, then hard-linked into place, which fails if
 * the name already exists: a crash never leaves a half-written object under its real name, and
 * two writers (a zombie and its successor) cannot overwrite each other's objects.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckpointMetadata, CheckpointScopeActivity, CheckpointStore, CheckpointStoreSpec, CompletedCheckpoint, SharedStateFile, StateHandle } from '../checkpoint-store.js';
import { CheckpointError, CorruptCheckpointError } from '../../errors.js';
import {
  assertCheckpointId,
  assertJobName,
  assertStateName,
  checkpointDirName,
  METADATA_NAME,
  parseCheckpointDirName,
} from './checkpoint-layout.js';
import { assertStateObjectsStored, inspectCheckpoint, scanCheckpoints } from './checkpoint-inspection.js';
import { encodeMetadata, validateMetadata } from './metadata-codec.js';
import { sha256Hex, verifyState } from './state-checksum.js';
import { planPrune, type CheckpointScan } from './retention-plan.js';
import { assertSharedName, ChunkDigest, SHARED_DIR, unreferencedSharedFiles, verifiedChunks } from './shared-state-files.js';

/** Checkpoint store rooted at a local directory: `<root>/<job>/chk-<id>/…`. */
export class LocalCheckpointStore implements CheckpointStore {
  readonly uri: string;
  readonly root: string;
  readonly spec: CheckpointStoreSpec;

  constructor(root: string) {
    this.root = resolve(root);
    this.uri = pathToFileURL(this.root).href;
    this.spec = { uri: this.uri, env: {} };
  }

  async writeSharedState(scope: string, name: string, chunks: AsyncIterable<Uint8Array>): Promise<SharedStateFile> {
    assertSharedName(scope, name);
    const dir = join(this.root, scope, SHARED_DIR);
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) await fsyncDir(join(this.root, scope));
    const tempPath = join(dir, `.${name}.tmp-${randomUUID()}`);
    const digest = new ChunkDigest();
    const handle = await open(tempPath, 'wx');
    try {
      for await (const chunk of chunks) {
        digest.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(tempPath).catch(() => undefined);
      throw error;
    }
    await handle.close();
    // The name is unique (it holds a uuid): a plain rename publishes it whole.
    await rename(tempPath, join(dir, name));
    await fsyncDir(dir);
    return { scope, name, bytes: digest.bytes, sha256: digest.digest() };
  }

  readSharedState(file: SharedStateFile): AsyncIterable<Uint8Array> {
    assertSharedName(file.scope, file.name);
    const path = join(this.root, file.scope, SHARED_DIR, file.name);
    return verifiedChunks(file, path, readFileChunks(path));
  }

  async writeState(jobName: string, checkpointId: number, name: string, bytes: Uint8Array): Promise<StateHandle> {
    assertJobName(jobName);
    assertCheckpointId(checkpointId);
    assertStateName(checkpointId, name);
    const dir = await this.ensureCheckpointDir(jobName, checkpointId);
    await writeObjectOnce(dir, name, bytes, checkpointId);
    return { name, bytes: bytes.byteLength, sha256: sha256Hex(bytes) };
  }

  async commitMetadata(metadata: CheckpointMetadata): Promise<CompletedCheckpoint> {
    assertJobName(metadata.jobName);
    assertCheckpointId(metadata.checkpointId);
    validateMetadata(metadata);
    const dir = this.checkpointDir(metadata.jobName, metadata.checkpointId);
    await assertStateObjectsStored(metadata, (name) => fileSize(join(dir, name)));
    await mkdir(dir, { recursive: true });
    await writeObjectOnce(dir, METADATA_NAME, encodeMetadata(metadata), metadata.checkpointId);
    return { metadata, location: dir };
  }

  async readState(jobName: string, checkpointId: number, handle: StateHandle): Promise<Uint8Array> {
    assertJobName(jobName);
    assertStateName(checkpointId, handle.name);
    const path = join(this.checkpointDir(jobName, checkpointId), handle.name);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if (isNotFound(err)) throw new CorruptCheckpointError(`checkpoint ${checkpointId} of job '${jobName}': state object ${path} is missing`);
      throw err;
    }
    verifyState(jobName, checkpointId, handle, bytes, path);
    return bytes;
  }

  async listCompleted(jobName: string, onSkip?: (checkpointId: number, reason: string) => void): Promise<CompletedCheckpoint[]> {
    const scan = await this.scan(jobName);
    for (const { checkpointId, reason } of scan.skipped) onSkip?.(checkpointId, reason);
    return scan.completed;
  }

  async load(jobName: string, checkpointId: number): Promise<CompletedCheckpoint> {
    assertJobName(jobName);
    assertCheckpointId(checkpointId);
    return this.inspect(jobName, checkpointId);
  }

  async discard(jobName: string, checkpointId: number): Promise<void> {
    assertJobName(jobName);
    assertCheckpointId(checkpointId);
    await rm(this.checkpointDir(jobName, checkpointId), { recursive: true, force: true });
  }

  async prune(jobName: string, retain: number, keep?: ReadonlySet<number>, keepShared?: ReadonlySet<string>): Promise<void> {
    const scan = await this.scan(jobName);
    const plan = planPrune(scan, retain, keep);
    for (const checkpointId of plan) await this.discard(jobName, checkpointId);
    const remaining = scan.completed.filter((c) => !plan.includes(c.metadata.checkpointId));
    const dir = join(this.root, jobName, SHARED_DIR);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    for (const name of unreferencedSharedFiles(jobName, names, remaining, keepShared)) await rm(join(dir, name), { force: true });
  }

  async listScopes(namePrefix: string): Promise<CheckpointScopeActivity[]> {
    let entries;
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const scopes: CheckpointScopeActivity[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !entry.name.startsWith(namePrefix)) continue;
      scopes.push({ scope: entry.name, lastModifiedMs: await newestModification(join(this.root, entry.name)) });
    }
    return scopes.sort((a, b) => (a.scope < b.scope ? -1 : 1));
  }

  async discardScope(scope: string): Promise<void> {
    assertJobName(scope);
    await rm(join(this.root, scope), { recursive: true, force: true });
  }

  /** Highest checkpoint id present in any state (complete or not); new ids must be above it. */
  async highestCheckpointId(jobName: string): Promise<number | undefined> {
    const ids = await this.checkpointIds(jobName);
    return ids.length === 0 ? undefined : Math.max(...ids);
  }

  private checkpointDir(jobName: string, checkpointId: number): string {
    return join(this.root, jobName, checkpointDirName(checkpointId));
  }

  private async ensureCheckpointDir(jobName: string, checkpointId: number): Promise<string> {
    const dir = this.checkpointDir(jobName, checkpointId);
    const created = await mkdir(dir, { recursive: true });
    // A new directory entry is durable only once its parent is fsynced.
    if (created !== undefined) {
      await fsyncDir(join(this.root, jobName));
      await fsyncDir(this.root);
    }
    return dir;
  }

  private async checkpointIds(jobName: string): Promise<number[]> {
    assertJobName(jobName);
    let entries: string[];
    try {
      entries = await readdir(join(this.root, jobName));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return entries.map(parseCheckpointDirName).filter((id): id is number => id !== undefined);
  }

  private async scan(jobName: string): Promise<CheckpointScan> {
    return scanCheckpoints(await this.checkpointIds(jobName), (checkpointId) => this.inspect(jobName, checkpointId));
  }

  private inspect(jobName: string, checkpointId: number): Promise<CompletedCheckpoint> {
    const dir = this.checkpointDir(jobName, checkpointId);
    return inspectCheckpoint({
      jobName,
      checkpointId,
      location: dir,
      readMetadata: async () => {
        try {
          return await readFile(join(dir, METADATA_NAME));
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      sizeOf: (name) => fileSize(join(dir, name)),
    });
  }
}

// Writes temp → fsync → link (fails if the name exists) → fsync dir. An existing object with
// identical content is accepted, so a retried write is idempotent; different content is a conflict.
async function writeObjectOnce(dir: string, name: string, bytes: Uint8Array, checkpointId: number): Promise<void> {
  const finalPath = join(dir, name);
  const tempPath = join(dir, `.${name}.tmp-${randomUUID()}`);
  const handle = await open(tempPath, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  let existed = false;
  try {
    await link(tempPath, finalPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      existed = true;
    } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      // Filesystems without hard links: fall back to check-then-rename (not race-free).
      existed = (await fileSize(finalPath)) !== undefined;
      if (!existed) {
        await rename(tempPath, finalPath);
        await fsyncDir(dir);
        return;
      }
    } else {
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
  }
  await unlink(tempPath).catch(() => undefined);
  if (existed) {
    const current = await readFile(finalPath);
    if (sha256Hex(current) !== sha256Hex(bytes)) {
      throw new CheckpointError(checkpointId, `${finalPath} already exists with different content (another writer used this checkpoint id)`);
    }
    return;
  }
  await fsyncDir(dir);
}

/** The newest modification time of a folder or anything in it, epoch millis. */
async function newestModification(dir: string): Promise<number> {
  let newest = (await stat(dir)).mtimeMs;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return newest;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const modified = entry.isDirectory() ? await newestModification(path).catch(() => 0) : ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
    newest = Math.max(newest, modified);
  }
  return newest;
}

async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms cannot fsync a directory; durability then rests on the OS.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'ENOENT') throw err;
  } finally {
    await handle?.close();
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A file's bytes as chunks; a missing file is a CorruptCheckpointError (a checkpoint references it). */
async function* readFileChunks(path: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
  } catch (err) {
    if (isNotFound(err)) throw new CorruptCheckpointError(`shared state file ${path} is missing`);
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
