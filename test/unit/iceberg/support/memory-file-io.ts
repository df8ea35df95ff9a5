/** In-memory FileIO for unit tests (keyed by location string), counting writes and deletes. */
import type { FileIO, OutputFile } from '../../../../src/iceberg/file-io.js';

export class MemoryFileIO implements FileIO {
  readonly files = new Map<string, Uint8Array>();
  readonly deleted: string[] = [];
  /** A worker thread cannot reach this memory: writers using it encode inline. */
  readonly description = undefined;

  async write(location: string, bytes: Uint8Array): Promise<void> {
    this.files.set(location, bytes.slice());
  }
  create(location: string): OutputFile {
    const chunks: Uint8Array[] = [];
    let state: 'open' | 'closed' | 'aborted' = 'open';
    return {
      location,
      write: async (chunk) => {
        if (state !== 'open') throw new Error(`${location} is ${state}`);
        chunks.push(chunk.slice());
      },
      close: async () => {
        if (state !== 'open') throw new Error(`${location} is ${state}`);
        state = 'closed';
        const bytes = Buffer.concat(chunks);
        this.files.set(location, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        return bytes.byteLength;
      },
      abort: async () => {
        if (state === 'open') state = 'aborted';
      },
    };
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
