import { CorruptCheckpointError } from '../../errors.js';

/**
 * The bytes of one task's snapshot: named sections, each with the version of the serializer
 * that wrote it, so a later release can read (or refuse with a clear message) older state.
 * Layout: 'STL1' · u32 header length · header JSON · section bytes in header order.
 */
export interface StateSection {
  readonly name: string;
  readonly version: number;
  readonly bytes: Uint8Array;
}

const MAGIC = [0x53, 0x54, 0x4c, 0x31]; // "STL1"

export function encodeStateEnvelope(sections: readonly StateSection[]): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ sections: sections.map((s) => ({ name: s.name, version: s.version, length: s.bytes.length })) }),
  );
  const total = 8 + header.length + sections.reduce((n, s) => n + s.bytes.length, 0);
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, header.length);
  out.set(header, 8);
  let offset = 8 + header.length;
  for (const s of sections) {
    out.set(s.bytes, offset);
    offset += s.bytes.length;
  }
  return out;
}

export function decodeStateEnvelope(bytes: Uint8Array, owner: string): Map<string, StateSection> {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new CorruptCheckpointError(`State of '${owner}' is not a streamline state envelope (bad magic).`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  let header: { sections: { name: string; version: number; length: number }[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new CorruptCheckpointError(`State of '${owner}' has an unreadable header: ${(error as Error).message}`);
  }
  const sections = new Map<string, StateSection>();
  let offset = 8 + headerLength;
  for (const s of header.sections) {
    if (offset + s.length > bytes.length) throw new CorruptCheckpointError(`State of '${owner}' is truncated in section '${s.name}'.`);
    sections.set(s.name, { name: s.name, version: s.version, bytes: bytes.subarray(offset, offset + s.length) });
    offset += s.length;
  }
  return sections;
}
