/**
 * Avro object container file reader: returns the header's raw schema JSON (with every custom
 * attribute), the header metadata and the records decoded with longs as BigInt.
 */
import { inflateRawSync } from 'node:zlib';
import avro from 'avsc';
import { avroTypeForSchema } from './bigint-long-type.js';
import { IcebergError } from '../../errors.js';

/** A decoded container file. */
export interface AvroContainer<T = Record<string, unknown>> {
  /** The writer schema exactly as stored in the header. */
  readonly schema: Record<string, unknown>;
  /** Header metadata other than `avro.schema`, as UTF-8 strings (includes `avro.codec`). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly records: T[];
}

/** The bytes are not an Avro container file or use an unsupported codec. */
export class AvroContainerError extends IcebergError {
  constructor(message: string) {
    super(message);
  }
}

const metadataMapType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');

function readLong(buf: Buffer, pos: number): { value: number; offset: number } {
  const r = longType.decode(buf, pos);
  if (r.offset < 0) throw new AvroContainerError('truncated Avro container file');
  return { value: r.value as number, offset: r.offset };
}

/** Decodes a whole container file. */
export function decodeAvroContainer<T = Record<string, unknown>>(bytes: Uint8Array): AvroContainer<T> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 || buf.readUInt32BE(0) !== 0x4f626a01) throw new AvroContainerError('not an Avro container file (bad magic)');
  const header = metadataMapType.decode(buf, 4);
  if (header.offset < 0) throw new AvroContainerError('truncated Avro header');
  const rawMeta = header.value as Record<string, Buffer>;
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawMeta)) if (key !== 'avro.schema') metadata[key] = value.toString('utf8');
  if (!rawMeta['avro.schema']) throw new AvroContainerError('Avro header has no avro.schema');
  const schema = JSON.parse(rawMeta['avro.schema'].toString('utf8')) as Record<string, unknown>;
  const codec = metadata['avro.codec'] ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') throw new AvroContainerError(`unsupported Avro codec '${codec}'`);

  const type = avroTypeForSchema(schema);
  let pos = header.offset;
  const sync = buf.subarray(pos, pos + 16);
  pos += 16;
  const records: T[] = [];
  while (pos < buf.length) {
    const count = readLong(buf, pos);
    const size = readLong(buf, count.offset);
    const end = size.offset + size.value;
    if (end + 16 > buf.length) throw new AvroContainerError('truncated Avro block');
    const raw = buf.subarray(size.offset, end);
    const block = codec === 'deflate' ? inflateRawSync(raw) : raw;
    let at = 0;
    for (let i = 0; i < count.value; i++) {
      const r = type.decode(block, at);
      if (r.offset < 0) throw new AvroContainerError('truncated Avro record');
      records.push(r.value as T);
      at = r.offset;
    }
    if (!buf.subarray(end, end + 16).equals(sync)) throw new AvroContainerError('Avro sync marker mismatch');
    pos = end + 16;
  }
  return { schema, metadata, records };
}
