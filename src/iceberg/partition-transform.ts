/**
 * Iceberg partition transforms (spec "Partition Transforms"): identity, year, month, day, hour,
 * truncate[W], bucket[N], void — each compiled once per partition field into a function from a
 * row value to the partition value, plus the human string used in partition paths
 * (`created_at_day=2024-01-05`).
 *
 * Partition values: year/month/day/hour/bucket → number (an Iceberg int); identity and truncate
 * keep the source type's physical value: int/date → number, long/time/timestamp(tz) → bigint
 * (micros for times), decimal → Uint8Array (unscaled, minimal big-endian two's complement, as
 * Avro's decimal), uuid → Uint8Array(16), string → string, binary/fixed → Uint8Array.
 */
import type { PartitionValue } from './data-file.js';
import type { IcebergType, PrimitiveType, Transform } from './schema.js';
import { murmur3Bytes, murmur3Long, murmur3String } from './murmur3.js';
import { decimalParameters, fixedLength } from './type-parameters.js';
import {
  toEpochDays,
  toEpochMicros,
  toInt,
  toLong,
  toTimeMicros,
  toUnscaledDecimal,
  toUuidBytes,
  uuidToString,
  IcebergValueError,
} from './row-value-coercion.js';
import { bigIntToMinimalBytes, minimalBytesToBigInt } from './single-value.js';
import { IcebergError } from '../errors.js';

/** A transform bound to its source type. */
export interface CompiledTransform {
  readonly transform: Transform;
  readonly sourceType: PrimitiveType;
  /** The Iceberg type of the partition value (e.g. `int` for day). */
  readonly resultType: PrimitiveType;
  /** Row value (schema.ts conventions) → partition value; throws IcebergValueError if it does not fit. */
  apply(value: unknown): PartitionValue;
  /** Partition value → the string used in `name=value` path segments (not URL-encoded). */
  human(value: PartitionValue): string;
}

/** The transform is not defined for the source type, or its parameter is invalid. */
export class UnsupportedTransformError extends IcebergError {
  constructor(message: string) {
    super(message);
  }
}

const MICROS_PER_DAY = 86_400_000_000;
const MICROS_PER_HOUR = 3_600_000_000;

function floorDiv(micros: number | bigint, unit: number): number {
  if (typeof micros === 'number') return Math.floor(micros / unit);
  const u = BigInt(unit);
  const q = micros / u;
  return Number(micros % u < 0n ? q - 1n : q);
}

function civil(days: number): { y: number; m: number; d: number } {
  const date = new Date(days * 86_400_000);
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function yearString(y: number): string {
  return y < 0 ? `-${pad(-y, 4)}` : pad(y, 4);
}

function daysToIso(days: number): string {
  const { y, m, d } = civil(days);
  return `${yearString(y)}-${pad(m)}-${pad(d)}`;
}

function microsToIso(micros: bigint, withZone: boolean): string {
  const days = floorDiv(micros, MICROS_PER_DAY);
  const ofDay = Number(micros - BigInt(days) * BigInt(MICROS_PER_DAY));
  const sec = Math.floor(ofDay / 1_000_000);
  const frac = ofDay % 1_000_000;
  const time = `${pad(Math.floor(sec / 3600))}:${pad(Math.floor(sec / 60) % 60)}:${pad(sec % 60)}${frac ? `.${pad(frac, 6)}` : ''}`;
  return `${daysToIso(days)}T${time}${withZone ? '+00:00' : ''}`;
}

function decimalToString(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

function timeSource(sourceType: PrimitiveType): 'date' | 'timestamp' | undefined {
  if (sourceType === 'date') return 'date';
  if (sourceType === 'timestamp' || sourceType === 'timestamptz') return 'timestamp';
  return undefined;
}

function identityFor(sourceType: PrimitiveType): Pick<CompiledTransform, 'apply' | 'human'> {
  const decimal = decimalParameters(sourceType);
  switch (sourceType) {
    case 'boolean':
      return {
        apply: (v) => {
          if (typeof v !== 'boolean') throw new IcebergValueError('expected boolean');
          return v;
        },
        human: String,
      };
    case 'int':
      return { apply: toInt, human: String };
    case 'long':
      return { apply: (v) => BigInt(toLong(v)), human: String };
    case 'float':
    case 'double':
      return {
        apply: (v) => {
          if (typeof v !== 'number') throw new IcebergValueError(`expected ${sourceType}`);
          return v;
        },
        human: String,
      };
    case 'date':
      return { apply: toEpochDays, human: (v) => daysToIso(v as number) };
    case 'time':
      return { apply: (v) => BigInt(toTimeMicros(v)), human: (v) => microsToIso(v as bigint, false).slice(11) };
    case 'timestamp':
    case 'timestamptz':
      return { apply: (v) => BigInt(toEpochMicros(v)), human: (v) => microsToIso(v as bigint, sourceType === 'timestamptz') };
    case 'string':
      return {
        apply: (v) => {
          if (typeof v !== 'string') throw new IcebergValueError('expected string');
          return v;
        },
        human: (v) => v as string,
      };
    case 'uuid':
      return { apply: (v) => toUuidBytes(v), human: (v) => uuidToString(v as Uint8Array) };
    default:
      if (decimal) {
        return {
          apply: (v) => bigIntToMinimalBytes(BigInt(toUnscaledDecimal(v, decimal))),
          human: (v) => decimalToString(minimalBytesToBigInt(v as Uint8Array), decimal.scale),
        };
      }
      return {
        apply: (v) => {
          if (!(v instanceof Uint8Array)) throw new IcebergValueError('expected Uint8Array');
          return v;
        },
        human: (v) => Buffer.from(v as Uint8Array).toString('base64'),
      };
  }
}

function bucketHash(sourceType: PrimitiveType): (v: unknown) => number {
  const decimal = decimalParameters(sourceType);
  switch (sourceType) {
    case 'int':
      return (v) => murmur3Long(toInt(v));
    case 'long':
      return (v) => murmur3Long(toLong(v));
    case 'date':
      return (v) => murmur3Long(toEpochDays(v));
    case 'time':
      return (v) => murmur3Long(toTimeMicros(v));
    case 'timestamp':
    case 'timestamptz':
      return (v) => murmur3Long(toEpochMicros(v));
    case 'string':
      return (v) => {
        if (typeof v !== 'string') throw new IcebergValueError('expected string');
        return murmur3String(v);
      };
    case 'uuid':
      return (v) => murmur3Bytes(toUuidBytes(v));
    case 'binary':
      return (v) => {
        if (!(v instanceof Uint8Array)) throw new IcebergValueError('expected Uint8Array');
        return murmur3Bytes(v);
      };
    default:
      if (decimal) return (v) => murmur3Bytes(bigIntToMinimalBytes(BigInt(toUnscaledDecimal(v, decimal))));
      if (fixedLength(sourceType) !== undefined) {
        return (v) => {
          if (!(v instanceof Uint8Array)) throw new IcebergValueError('expected Uint8Array');
          return murmur3Bytes(v);
        };
      }
      throw new UnsupportedTransformError(`bucket is not defined for ${sourceType}`);
  }
}

function truncateFor(sourceType: PrimitiveType, width: number): Pick<CompiledTransform, 'apply' | 'human'> {
  const decimal = decimalParameters(sourceType);
  const identity = identityFor(sourceType);
  const w = BigInt(width);
  switch (sourceType) {
    case 'int':
      return { apply: (v) => { const n = toInt(v); return n - (((n % width) + width) % width); }, human: String };
    case 'long':
      return { apply: (v) => { const n = BigInt(toLong(v)); return n - (((n % w) + w) % w); }, human: String };
    case 'string':
      return {
        apply: (v) => {
          if (typeof v !== 'string') throw new IcebergValueError('expected string');
          // Width counts code points, not UTF-16 units, so a surrogate pair is never split.
          let end = 0;
          for (let n = 0; n < width && end < v.length; n++) end += v.codePointAt(end)! > 0xffff ? 2 : 1;
          return v.slice(0, end);
        },
        human: (v) => v as string,
      };
    case 'binary':
      return {
        apply: (v) => {
          if (!(v instanceof Uint8Array)) throw new IcebergValueError('expected Uint8Array');
          return v.subarray(0, width);
        },
        human: identity.human,
      };
    default:
      if (decimal) {
        return {
          apply: (v) => {
            const n = BigInt(toUnscaledDecimal(v, decimal));
            return bigIntToMinimalBytes(n - (((n % w) + w) % w));
          },
          human: identity.human,
        };
      }
      throw new UnsupportedTransformError(`truncate is not defined for ${sourceType}`);
  }
}

function parameter(transform: string): number {
  const m = /\[(\d+)\]$/.exec(transform);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(n) || n <= 0) throw new UnsupportedTransformError(`invalid transform parameter in ${transform}`);
  return n;
}

function nullSafe(fn: (v: unknown) => PartitionValue): (v: unknown) => PartitionValue {
  return (v) => (v === null || v === undefined ? null : fn(v));
}

/** Binds a transform to its source column's type; throws UnsupportedTransformError for invalid pairs. */
export function compileTransform(transform: Transform, sourceType: IcebergType): CompiledTransform {
  if (typeof sourceType !== 'string') throw new UnsupportedTransformError(`cannot partition by a ${sourceType.type} column`);
  const humanNullSafe = (fn: (v: PartitionValue) => string) => (v: PartitionValue) => (v === null ? 'null' : fn(v));
  const make = (resultType: PrimitiveType, apply: (v: unknown) => PartitionValue, human: (v: PartitionValue) => string): CompiledTransform => ({
    transform,
    sourceType,
    resultType,
    apply: nullSafe(apply),
    human: humanNullSafe(human),
  });
  const time = timeSource(sourceType);
  const toMicros = (v: unknown) => (time === 'date' ? toEpochDays(v) * MICROS_PER_DAY : toEpochMicros(v));
  const toDays = (v: unknown) => (time === 'date' ? toEpochDays(v) : floorDiv(toEpochMicros(v), MICROS_PER_DAY));
  switch (transform) {
    case 'identity': {
      const id = identityFor(sourceType);
      return make(sourceType, id.apply, id.human);
    }
    case 'void':
      return make(sourceType, () => null, () => 'null');
    case 'year':
      if (!time) break;
      return make('int', (v) => civil(toDays(v)).y - 1970, (v) => yearString((v as number) + 1970));
    case 'month':
      if (!time) break;
      return make(
        'int',
        (v) => {
          const { y, m } = civil(toDays(v));
          return (y - 1970) * 12 + (m - 1);
        },
        (v) => {
          const months = v as number;
          const y = 1970 + Math.floor(months / 12);
          return `${yearString(y)}-${pad(months - (y - 1970) * 12 + 1)}`;
        },
      );
    case 'day':
      if (!time) break;
      return make('int', toDays, (v) => daysToIso(v as number));
    case 'hour':
      if (time !== 'timestamp') break;
      return make('int', (v) => floorDiv(toMicros(v), MICROS_PER_HOUR), (v) => {
        const hours = v as number;
        return `${daysToIso(Math.floor(hours / 24))}-${pad(((hours % 24) + 24) % 24)}`;
      });
    default:
      if (transform.startsWith('bucket[')) {
        const n = parameter(transform);
        const hash = bucketHash(sourceType);
        return make('int', (v) => (hash(v) & 0x7fffffff) % n, String);
      }
      if (transform.startsWith('truncate[')) {
        const t = truncateFor(sourceType, parameter(transform));
        return make(sourceType, t.apply, t.human);
      }
  }
  throw new UnsupportedTransformError(`transform ${transform} is not defined for ${sourceType}`);
}
