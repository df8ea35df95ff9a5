import { CorruptCheckpointError } from '../../../errors.js';
import { bigintReplacer, bigintReviver } from '../../bigint-json.js';
import type { StateKey } from '../state-key.js';
import { hashKey, hashUtf8 } from '../key-group.js';
import type { ByteReader } from './byte-reader.js';
import type { ByteWriter } from './byte-writer.js';

/**
 * How keys and values are written in the binary state format: a tag byte, then the value.
 * Primitives have their own tags (small non-negative integers as varints: counts and
 * timestamps are most of the numbers in state); anything else is JSON with bigints preserved.
 */
const TAG_NULL = 0;
const TAG_FALSE = 1;
const TAG_TRUE = 2;
const TAG_UINT = 3;
const TAG_F64 = 4;
const TAG_STRING = 5;
const TAG_BIGINT = 6;
const TAG_JSON = 7;
const TAG_UNDEFINED = 8;

export function writeValue(out: ByteWriter, value: unknown): void {
  switch (typeof value) {
    case 'number':
      if (Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0)) {
        out.u8(TAG_UINT);
        out.varint(value);
      } else {
        out.u8(TAG_F64);
        out.f64(value);
      }
      return;
    case 'string':
      out.u8(TAG_STRING);
      out.string(value);
      return;
    case 'boolean':
      out.u8(value ? TAG_TRUE : TAG_FALSE);
      return;
    case 'bigint':
      out.u8(TAG_BIGINT);
      out.string(value.toString());
      return;
    case 'undefined':
      out.u8(TAG_UNDEFINED);
      return;
    default:
      if (value === null) {
        out.u8(TAG_NULL);
        return;
      }
      out.u8(TAG_JSON);
      out.string(JSON.stringify(value, bigintReplacer));
  }
}

export function readValue(input: ByteReader): unknown {
  const tag = input.u8();
  switch (tag) {
    case TAG_NULL:
      return null;
    case TAG_FALSE:
      return false;
    case TAG_TRUE:
      return true;
    case TAG_UINT:
      return input.varint();
    case TAG_F64:
      return input.f64();
    case TAG_STRING:
      return input.string();
    case TAG_BIGINT:
      return BigInt(input.string());
    case TAG_UNDEFINED:
      return undefined;
    case TAG_JSON: {
      const text = input.string();
      try {
        return JSON.parse(text, bigintReviver);
      } catch (error) {
        throw new CorruptCheckpointError(`state value is not valid JSON: ${(error as Error).message}`);
      }
    }
    default:
      throw new CorruptCheckpointError(`unknown state value tag ${tag}`);
  }
}

/** Moves past a value as {@link writeValue} wrote it, without building it. */
export function skipValue(input: ByteReader): void {
  const tag = input.u8();
  switch (tag) {
    case TAG_NULL:
    case TAG_FALSE:
    case TAG_TRUE:
    case TAG_UNDEFINED:
      return;
    case TAG_UINT:
      input.varint();
      return;
    case TAG_F64:
      input.f64();
      return;
    case TAG_STRING:
    case TAG_BIGINT:
    case TAG_JSON:
      input.bytes(input.varint());
      return;
    default:
      throw new CorruptCheckpointError(`unknown state value tag ${tag}`);
  }
}

export function writeKey(out: ByteWriter, key: StateKey): void {
  writeValue(out, key);
}

export function readKey(input: ByteReader): StateKey {
  const key = readValue(input);
  if (typeof key !== 'string' && typeof key !== 'number') throw new CorruptCheckpointError(`state key has type ${typeof key}`);
  return key;
}

/** {@link hashKey} of the key at the reader's position, moving past it; a string key is hashed from its bytes, never decoded. */
export function readKeyHash(input: ByteReader): number {
  if (input.peek() !== TAG_STRING) return hashKey(readKey(input));
  input.u8();
  const length = input.varint();
  const start = input.offset;
  input.skip(length);
  return hashUtf8(input.view, start, start + length);
}

/** The order entries are sorted in within a block: numbers (ascending) before strings (by UTF-16 code units). */
export function compareKeys(a: StateKey, b: StateKey): number {
  if (typeof a === 'number') {
    if (typeof b === 'number') return a - b;
    return -1;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
