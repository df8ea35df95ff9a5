/**
 * Iceberg single-value binary serialization (spec Appendix D), used for column lower/upper bounds
 * in manifests, plus the truncation Iceberg applies to string and binary bounds (default
 * metrics mode `truncate(16)`: 16 Unicode code points for strings, 16 bytes for binary).
 */
import type { PrimitiveType } from './schema.js';
import { decimalParameters } from './type-parameters.js';
import { toEpochDays, toEpochMicros, toInt, toLong, toTimeMicros, toUnscaledDecimal, toUuidBytes, uuidToString } from './row-value-coercion.js';

/** Decoded single value: number for 4-byte types, bigint for 8-byte integral types and unscaled decimals. */
export type SingleValue = boolean | number | bigint | string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function int32LE(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, v, true);
  return out;
}

function int64LE(v: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(v), true);
  return out;
}

/** Minimal big-endian two's complement bytes, as Java's BigInteger.toByteArray(). */
export function bigIntToMinimalBytes(value: bigint): Uint8Array {
  let len = 1;
  while (value < -(1n << BigInt(8 * len - 1)) || value >= 1n << BigInt(8 * len - 1)) len++;
  const out = new Uint8Array(len);
  let v = BigInt.asUintN(8 * len, value);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Big-endian two's complement bytes of any length → bigint. */
export function minimalBytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return bytes.length > 0 && bytes[0]! & 0x80 ? v - (1n << BigInt(8 * bytes.length)) : v;
}

/**
 * Serializes a value of an Iceberg primitive type. Accepts the row-value conventions of schema.ts
 * (e.g. a timestamp as Date/ISO string/epoch-micros bigint, a decimal as "12.30" or unscaled bigint).
 */
export function serializeSingleValue(type: PrimitiveType, value: unknown): Uint8Array {
  switch (type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw new TypeError(`boolean expected, got ${typeof value}`);
      return Uint8Array.of(value ? 1 : 0);
    case 'int':
      return int32LE(toInt(value));
    case 'date':
      return int32LE(toEpochDays(value));
    case 'long':
      return int64LE(toLong(value));
    case 'time':
      return int64LE(toTimeMicros(value));
    case 'timestamp':
    case 'timestamptz':
      return int64LE(toEpochMicros(value));
    case 'float': {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setFloat32(0, value as number, true);
      return out;
    }
    case 'double': {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, value as number, true);
      return out;
    }
    case 'string':
      return encoder.encode(value as string);
    case 'uuid':
      return toUuidBytes(value).slice();
    case 'binary':
      return (value as Uint8Array).slice();
    default: {
      const decimal = decimalParameters(type);
      if (decimal) return bigIntToMinimalBytes(BigInt(toUnscaledDecimal(value, decimal)));
      return (value as Uint8Array).slice(); // fixed[L]
    }
  }
}

/** Decodes single-value bytes: ints/dates/floats → number, longs/times/timestamps/decimals (unscaled) → bigint, uuid → string. */
export function deserializeSingleValue(type: PrimitiveType, bytes: Uint8Array): SingleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'boolean':
      return bytes[0] !== 0;
    case 'int':
    case 'date':
      return view.getInt32(0, true);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return view.getBigInt64(0, true);
    case 'float':
      return view.getFloat32(0, true);
    case 'double':
      return view.getFloat64(0, true);
    case 'string':
      return decoder.decode(bytes);
    case 'uuid':
      return uuidToString(bytes);
    case 'binary':
      return bytes.slice();
    default:
      if (decimalParameters(type)) return minimalBytesToBigInt(bytes);
      return bytes.slice();
  }
}

/** Byte length of the first `codePoints` code points of UTF-8 `bytes` (whole string if shorter). */
function utf8PrefixLength(bytes: Uint8Array, codePoints: number): number {
  let i = 0;
  for (let n = 0; n < codePoints && i < bytes.length; n++) {
    const b = bytes[i]!;
    i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  }
  return Math.min(i, bytes.length);
}

/** A lower bound shortened to `length` code points (strings) or bytes (binary); other types unchanged. */
export function truncateLowerBound(type: PrimitiveType, bytes: Uint8Array, length = 16): Uint8Array {
  if (type === 'string') return bytes.subarray(0, utf8PrefixLength(bytes, length));
  if (type === 'binary') return bytes.subarray(0, length);
  return bytes;
}

/**
 * An upper bound shortened like truncateLowerBound, then made greater than every value with that
 * prefix by incrementing its last code point (string) or byte (binary), carrying leftwards past
 * maximal ones. Undefined when no shorter upper bound exists (the manifest then omits it).
 */
export function truncateUpperBound(type: PrimitiveType, bytes: Uint8Array, length = 16): Uint8Array | undefined {
  if (type === 'binary') {
    if (bytes.length <= length) return bytes;
    const out = bytes.slice(0, length);
    for (let i = out.length - 1; i >= 0; i--) {
      if (out[i]! < 0xff) {
        out[i]! += 1;
        return out.subarray(0, i + 1);
      }
    }
    return undefined;
  }
  if (type !== 'string') return bytes;
  const prefixLength = utf8PrefixLength(bytes, length);
  if (prefixLength >= bytes.length) return bytes;
  const codePoints = Array.from(decoder.decode(bytes.subarray(0, prefixLength)), (c) => c.codePointAt(0)!);
  for (let i = codePoints.length - 1; i >= 0; i--) {
    let next = codePoints[i]! + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // surrogates are not scalar values
    if (next <= 0x10ffff) {
      return encoder.encode(String.fromCodePoint(...codePoints.slice(0, i), next));
    }
  }
  return undefined;
}
