/**
 * FileIO on the local filesystem for `file:///…` locations and plain absolute paths. A write is
 * durable and atomic (local-output-file.ts): temp file beside the target, fsync, rename, fsync of
 * the directory — a reader (or a restarted job) never sees a partial file.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FileIO, FileIODescription, FileLister, ListedFile, OutputFile } from './file-io.js';
import { LocalOutputFile } from './local-output-file.js';
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

/** FileIO over the local filesystem; it can list (see FileLister). */
export class LocalFileIO implements FileIO, FileLister {
  readonly description: FileIODescription = { kind: 'local' };

  async write(location: string, bytes: Uint8Array): Promise<void> {
    const file = this.create(location);
    await file.write(bytes);
    await file.close();
  }

  create(location: string): OutputFile {
    return new LocalOutputFile(location, localPath(location));
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

  async *list(prefix: string): AsyncIterable<ListedFile> {
    const walk = async function* (dir: string): AsyncGenerator<ListedFile> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) yield* walk(path);
        else if (entry.isFile()) {
          const info = await stat(path).catch(() => undefined); // deleted meanwhile
          if (info !== undefined) yield { location: pathToFileURL(path).href, sizeBytes: info.size, modifiedMs: info.mtimeMs };
        }
      }
    };
    yield* walk(localPath(prefix));
  }

  canonical(location: string): string {
    return localPath(location);
  }
}
