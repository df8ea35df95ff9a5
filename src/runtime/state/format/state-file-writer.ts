import { ByteWriter } from './byte-writer.js';
import { STATE_FILE_END, STATE_FILE_MAGIC, STATE_FILE_VERSION, type EncodedStateBlock, type StateBlock, type StateFileHeader } from './state-file.js';

/** Chunks handed to the store are about this large: memory stays bounded whatever the state size. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Encodes a state file (see state-file.ts) block by block; `drain()` hands out full chunks as
 * they fill, so a caller streams them to the store while it encodes the next blocks.
 */
export class StateFileWriter {
  private readonly out = new ByteWriter(CHUNK_BYTES + 64 * 1024);
  private readonly stateIndex = new Map<string, number>();
  private readonly chunks: Uint8Array[] = [];
  private finished = false;
  /** Blocks and entries written, for metrics and tests. */
  blocks = 0;
  entries = 0;

  constructor(readonly header: StateFileHeader) {
    const out = this.out;
    out.bytes(STATE_FILE_MAGIC);
    out.u8(STATE_FILE_VERSION);
    out.u8(header.kind === 'base' ? 0 : 1);
    out.varint(header.maxParallelism);
    out.varint(header.states.length);
    header.states.forEach((s, i) => {
      this.stateIndex.set(s.name, i);
      out.string(s.name);
      out.u8(s.kind === 'value' ? 0 : 1);
      out.f64(s.ttlMs ?? -1);
    });
  }

  /** Appends a block whose entries are already encoded (and sorted); empty blocks are left out. */
  encodedBlock(block: EncodedStateBlock): void {
    if (block.count === 0) return;
    const lengthAt = this.startBlock(block, block.count);
    this.out.bytes(block.bytes);
    this.endBlock(lengthAt, block.count);
  }

  private startBlock(block: Pick<StateBlock, 'state' | 'split' | 'keyGroup'>, count: number): number {
    if (this.finished) throw new Error('StateFileWriter: block after finish');
    const index = this.stateIndex.get(block.state);
    if (index === undefined) throw new Error(`StateFileWriter: state '${block.state}' is not in the header`);
    const out = this.out;
    const lengthAt = out.length;
    out.u32(0);
    out.varint(index);
    out.string(block.split);
    out.varint(block.keyGroup);
    out.varint(count);
    return lengthAt;
  }

  private endBlock(lengthAt: number, count: number): void {
    const out = this.out;
    out.patchU32(lengthAt, out.length - lengthAt - 4);
    this.blocks++;
    this.entries += count;
    if (out.length >= CHUNK_BYTES) this.chunks.push(out.take());
  }

  /** Ends the file. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.out.u32(0);
    this.out.bytes(STATE_FILE_END);
    this.chunks.push(this.out.take());
  }

  /** Chunks completed since the last call. */
  drain(): Uint8Array[] {
    return this.chunks.splice(0);
  }
}
