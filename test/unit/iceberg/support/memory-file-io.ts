/** In-memory FileIO for unit tests (keyed by location string), counting writes and deletes. */
import type { FileIO } from '../../../../src/iceberg/file-io.js';

export class MemoryFileIO implements FileIO {
  readonly files = new Map<string, Uint8Array>();
  readonly deleted: string[] = [];

  async write(location: string, bytes: Uint8Array): Promise<void> {
    this.files.set(location, bytes.slice());
  }
  async read(location: string): Promise<Uint8Array> {
    const bytes = this.files.get(location);
    if (!bytes) throw Object.assign(new Error(`no such file ${location}`), { code: 'ENOENT' });
    return bytes;
  }
  async exists(location: string): Promise<boolean> {
    return this.files.has(location);
  }
  async delete(location: string): Promise<void> {
    this.deleted.push(location);
    this.files.delete(location);
  }
}
