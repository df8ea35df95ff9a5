import { CorruptCheckpointError } from '../../../errors.js';

/** Reads what {@link ByteWriter} wrote; every read past the end is a CorruptCheckpointError. */
export class ByteReader {
  private pos: number;
  private readonly buf: Buffer;

  constructor(
    bytes: Uint8Array,
    private readonly what: string,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  /** The bytes read (for a caller that hashes or copies a span without decoding it). */
  get view(): Buffer {
    return this.buf;
  }

  /** Moves to `offset` (a reader of a changelog revisits its records by offset). */
  seek(offset: number): void {
    if (offset < 0 || offset > this.end) throw new CorruptCheckpointError(`${this.what}: offset ${offset} out of range`);
    this.pos = offset;
  }

  /** The next byte, without moving past it. */
  peek(): number {
    this.need(1);
    return this.buf[this.pos]!;
  }

  /** Moves past `length` bytes. */
  skip(length: number): void {
    this.need(length);
    this.pos += length;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    throw new CorruptCheckpointError(`${this.what}: varint longer than 8 bytes at offset ${this.pos}`);
  }

  string(): string {
    const length = this.varint();
    this.need(length);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  bytes(length: number): Uint8Array {
    this.need(length);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new CorruptCheckpointError(`${this.what}: truncated (needed ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left)`);
  }
}
