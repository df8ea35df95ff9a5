/**
 * A growable little-endian byte buffer for the binary state format: varints, doubles and UTF-8
 * strings written straight into a Node Buffer (no intermediate strings or arrays).
 */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(private readonly initialBytes = 64 * 1024) {
    this.buf = ownedBuffer(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  u32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /** Overwrites a u32 written earlier at `offset` (a length known only afterwards). */
  patchU32(offset: number, value: number): void {
    this.buf.writeUInt32LE(value >>> 0, offset);
  }

  f64(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varint(value: number): void {
    this.ensure(8);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Varint byte length, then the UTF-8 bytes. */
  string(value: string): void {
    const max = value.length * 3;
    this.ensure(max + 5);
    if (value.length < 128 && max < 128) {
      // Short strings (the common key): the length fits one byte, so write the bytes first.
      const written = this.buf.write(value, this.pos + 1, 'utf8');
      this.buf[this.pos] = written;
      this.pos += 1 + written;
      return;
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.buf.write(value, this.pos, 'utf8');
    this.pos += bytes;
  }

  bytes(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Copies `source[start, end)`: an encoded entry copied as it is (a short one byte by byte, with no view made for it). */
  span(source: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    if (end - start > 64) {
      this.buf.set(source.subarray(start, end), this.pos);
      this.pos += end - start;
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = start; i < end; i++) buf[pos++] = source[i]!;
    this.pos = pos;
  }

  /** Starts over, keeping the buffer (a writer reused for one block after another). */
  clear(): void {
    this.pos = 0;
  }

  /** The bytes written so far, without copying; valid until the next write. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /**
   * The bytes written so far without copying (a view of a buffer that owns its ArrayBuffer, so it
   * can be transferred to a worker), and starts over with a fresh buffer.
   */
  detach(): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
    this.buf = ownedBuffer(this.initialBytes);
    this.pos = 0;
    return out;
  }

  /**
   * The bytes written so far as a copy in Node's shared buffer pool, and starts over: for small
   * records made by the million (disk state keys and records), which would each get an
   * ArrayBuffer of their own from {@link take}. Not transferable.
   */
  takePooled(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }

  /** The bytes written so far (a copy), and starts over with an empty buffer. */
  take(): Uint8Array {
    const out = Uint8Array.prototype.slice.call(this.buf, 0, this.pos);
    this.pos = 0;
    return out;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = ownedBuffer(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** A Buffer over its own ArrayBuffer (never a slice of Node's shared pool): transferable. */
function ownedBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}
