/**
 * FileIO on the local filesystem for `file:///…` locations and plain absolute paths. A write is
 * durable and atomic: temp file beside the target, fsync, rename, fsync of the directory — a
 * reader (or a restarted job) never sees a partial file.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileIO } from './file-io.js';
import { IcebergError } from '../errors.js';

/** A location this FileIO cannot address (not file:// and not an absolute path). */
export class UnsupportedLocationError extends IcebergError {
  constructor(location: string) {
    super(`LocalFileIO cannot address ${JSON.stringify(location)}: expected file:///… or an absolute path`);
  }
}

/** `file:///a/b` or `/a/b` → `/a/b`. */
export function localPath(location: string): string {
  if (location.startsWith('file:')) return fileURLToPath(location.startsWith('file:///') ? location : location.replace(/^file:\/*/, 'file:///'));
  if (isAbsolute(location)) return location;
  throw new UnsupportedLocationError(location);
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** FileIO over the local filesystem. */
export class LocalFileIO implements FileIO {
  async write(location: string, bytes: Uint8Array): Promise<void> {
    const path = localPath(location);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    // The rename itself is only durable once the directory entry is.
    await fsyncDirectory(dir);
  }

  async read(location: string): Promise<Uint8Array> {
    const buffer = await readFile(localPath(location));
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  async exists(location: string): Promise<boolean> {
    try {
      await stat(localPath(location));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Deleting a missing file is not an error (deletes are retried after crashes). */
  async delete(location: string): Promise<void> {
    await rm(localPath(location), { force: true });
  }
}
