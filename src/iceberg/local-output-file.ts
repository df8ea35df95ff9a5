/**
 * A local file written as it grows: bytes are appended to a temp file beside the target, and
 * `close()` makes it durable and visible at once (fsync, rename, fsync of the directory), so a
 * reader or a restarted job never sees a partial file. `abort()` deletes the temp file.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OutputFile } from './file-io.js';
import { IcebergError } from '../errors.js';

/** The output file was closed or aborted before this call. */
export class OutputFileClosedError extends IcebergError {}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** OutputFile for one local path. */
export class LocalOutputFile implements OutputFile {
  private readonly temp: string;
  /** Opened on the first write (or at close, for an empty file). */
  private handle: Promise<FileHandle> | undefined;
  private size = 0;
  private state: 'open' | 'closed' | 'aborted' = 'open';
  private aborting: Promise<void> | undefined;

  constructor(
    readonly location: string,
    private readonly path: string,
  ) {
    this.temp = `${path}.${randomUUID()}.tmp`;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen('write');
    const handle = await this.open();
    try {
      for (let offset = 0; offset < chunk.byteLength; ) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.size += chunk.byteLength;
  }

  async close(): Promise<number> {
    this.assertOpen('close');
    try {
      const handle = await this.open();
      await handle.sync();
      await handle.close();
      await rename(this.temp, this.path);
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.state = 'closed';
    // The rename itself is only durable once the directory entry is.
    await fsyncDirectory(dirname(this.path));
    return this.size;
  }

  abort(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'aborted';
    this.aborting ??= this.discard();
    return this.aborting;
  }

  private async discard(): Promise<void> {
    const handle = await this.handle?.catch(() => undefined);
    if (handle === undefined) return;
    await handle.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
  }

  private assertOpen(call: string): void {
    if (this.state !== 'open') throw new OutputFileClosedError(`cannot ${call} ${this.location}: the file is ${this.state}`);
  }

  private open(): Promise<FileHandle> {
    this.handle ??= mkdir(dirname(this.path), { recursive: true }).then(() => open(this.temp, 'wx'));
    return this.handle;
  }
}
