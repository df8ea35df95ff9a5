/**
 * Avro object container file writer (Avro 1.11 spec, "Object Container Files"): magic, metadata
 * map, sync marker, then blocks. The header carries the caller's schema JSON verbatim, because
 * avsc's own encoder re-serializes the schema and drops Iceberg's `field-id`/`element-id`
 * attributes, which readers need to map columns.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import avro from 'avsc';
import { avroTypeForSchema } from './bigint-long-type.js';

/** Block compression; Iceberg readers (Java, pyiceberg) accept both. */
export type AvroCodec = 'null' | 'deflate';

export interface AvroContainerOptions {
  /** Extra header metadata (e.g. Iceberg's `schema`, `partition-spec`); values are UTF-8 strings. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly codec?: AvroCodec;
  /** Records per block; a block is encoded, compressed and framed as one unit. */
  readonly blockSize?: number;
}

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const metadataMapType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');

/** Encodes `records` (plain objects; longs as bigint or safe numbers) into a complete container file. */
export function encodeAvroContainer(schema: object, records: readonly unknown[], options: AvroContainerOptions = {}): Uint8Array {
  const codec = options.codec ?? 'deflate';
  const blockSize = options.blockSize ?? 1000;
  const type = avroTypeForSchema(schema);
  const sync = randomBytes(16);

  const meta: Record<string, Buffer> = {
    'avro.schema': Buffer.from(JSON.stringify(schema), 'utf8'),
    'avro.codec': Buffer.from(codec, 'utf8'),
  };
  for (const [key, value] of Object.entries(options.metadata ?? {})) meta[key] = Buffer.from(value, 'utf8');

  const parts: Buffer[] = [MAGIC, metadataMapType.toBuffer(meta), sync];
  for (let start = 0; start < records.length; start += blockSize) {
    const chunk = records.slice(start, start + blockSize);
    const encoded = Buffer.concat(chunk.map((record) => type.toBuffer(record)));
    const payload = codec === 'deflate' ? deflateRawSync(encoded) : encoded;
    parts.push(longType.toBuffer(chunk.length), longType.toBuffer(payload.length), payload, sync);
  }
  const out = Buffer.concat(parts);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
