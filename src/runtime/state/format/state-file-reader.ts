import { CorruptCheckpointError } from '../../../errors.js';
import { ByteReader } from './byte-reader.js';
import {
  STATE_FILE_END,
  STATE_FILE_MAGIC,
  STATE_FILE_VERSION,
  type EncodedStateBlock,
  type StateBlock,
  type StateFileHeader,
  type StateInfo,
} from './state-file.js';
import { decodeBlock } from './state-entry-codec.js';

/** Which blocks a reader decodes; the others are skipped without decoding their entries. */
export type BlockFilter = (state: string, split: string, keyGroup: number) => boolean;

/**
 * Reads a state file from a stream of chunks (any chunk boundaries), block by block, holding at
 * most one block plus one chunk in memory.
 */
export class StateFileReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffer: Buffer = Buffer.alloc(0);
  private offset = 0;
  private ended = false;
  private headerRead: StateFileHeader | undefined;
  private done = false;

  constructor(
    chunks: AsyncIterable<Uint8Array>,
    private readonly what: string,
  ) {
    this.iterator = chunks[Symbol.asyncIterator]();
  }

  async header(): Promise<StateFileHeader> {
    if (this.headerRead) return this.headerRead;
    await this.fill(4 + 1 + 1);
    if (!this.buffer.subarray(this.offset, this.offset + 4).equals(STATE_FILE_MAGIC)) throw new CorruptCheckpointError(`${this.what}: not a keyed state file (bad magic)`);
    const version = this.buffer[this.offset + 4]!;
    if (version !== STATE_FILE_VERSION) throw new CorruptCheckpointError(`${this.what}: keyed state file version ${version} is not supported (this build reads ${STATE_FILE_VERSION})`);
    const kind = this.buffer[this.offset + 5] === 0 ? 'base' : 'delta';
    this.offset += 6;
    // The state table is small; make sure it is all buffered (it ends before the first block).
    await this.fill(Math.min(64 * 1024, this.available + 64 * 1024), true);
    const input = new ByteReader(this.buffer, this.what, this.offset, this.buffer.length);
    const maxParallelism = input.varint();
    const count = input.varint();
    const states: StateInfo[] = [];
    for (let i = 0; i < count; i++) {
      const name = input.string();
      const kindByte = input.u8();
      const ttl = input.f64();
      states.push({ name, kind: kindByte === 0 ? 'value' : 'map', ttlMs: ttl < 0 ? null : ttl });
    }
    this.offset = input.offset;
    this.headerRead = { kind, maxParallelism, states };
    return this.headerRead;
  }

  /** The next block accepted by `filter` (or the next block at all), undefined at the end of the file. */
  async next(filter?: BlockFilter): Promise<StateBlock | undefined> {
    const block = await this.nextEncoded(filter);
    return block === undefined ? undefined : decodeBlock(block, this.what);
  }

  /** As {@link next}, with the entries left encoded (a view of the bytes read: a merge copies them as they are). */
  async nextEncoded(filter?: BlockFilter): Promise<EncodedStateBlock | undefined> {
    const header = await this.header();
    for (;;) {
      if (this.done) return undefined;
      await this.fill(4);
      const length = this.buffer.readUInt32LE(this.offset);
      if (length === 0) {
        await this.fill(8);
        if (!this.buffer.subarray(this.offset + 4, this.offset + 8).equals(STATE_FILE_END)) throw new CorruptCheckpointError(`${this.what}: bad end marker`);
        this.done = true;
        return undefined;
      }
      await this.fill(4 + length);
      const input = new ByteReader(this.buffer, this.what, this.offset + 4, this.offset + 4 + length);
      this.offset += 4 + length;
      const stateIndex = input.varint();
      const info = header.states[stateIndex];
      if (info === undefined) throw new CorruptCheckpointError(`${this.what}: block of unknown state #${stateIndex}`);
      const split = input.string();
      const keyGroup = input.varint();
      if (filter !== undefined && !filter(info.name, split, keyGroup)) continue;
      const count = input.varint();
      return { state: info.name, split, keyGroup, count, bytes: this.buffer.subarray(input.offset, this.offset) };
    }
  }

  private get available(): number {
    return this.buffer.length - this.offset;
  }

  /** Buffers at least `bytes` unread bytes (fewer at the end of the stream only when `upTo`). */
  private async fill(bytes: number, upTo = false): Promise<void> {
    if (this.available >= bytes) return;
    const parts: Buffer[] = [this.buffer.subarray(this.offset)];
    let have = this.available;
    while (have < bytes && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      parts.push(chunk);
      have += chunk.length;
    }
    this.buffer = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.offset = 0;
    if (have < bytes && !upTo) throw new CorruptCheckpointError(`${this.what}: truncated (the file ends inside a block)`);
  }
}
