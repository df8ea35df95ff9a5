/**
 * An avsc `long` that reads and writes JavaScript BigInt. Iceberg snapshot ids are random 63-bit
 * numbers, beyond Number's 53 exact bits, so manifests must never pass longs through doubles.
 */
import avro from 'avsc';

/** avsc registry entry mapping Avro `long` to BigInt (writes also accept safe-integer numbers). */
export const bigintLongType: avro.Type = avro.types.LongType.__with(
  {
    fromBuffer: (buf: Buffer): bigint => buf.readBigInt64LE(0),
    toBuffer: (value: bigint | number): Buffer => {
      const buf = Buffer.alloc(8);
      buf.writeBigInt64LE(BigInt(value), 0);
      return buf;
    },
    fromJSON: (value: unknown): bigint => BigInt(value as string | number),
    toJSON: (value: bigint): number | string =>
      value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString(),
    isValid: (value: unknown): boolean =>
      typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)),
    compare: (a: bigint, b: bigint): number => (a === b ? 0 : a < b ? -1 : 1),
  },
  false,
) as unknown as avro.Type;

/** Builds an avsc type from a raw schema, with `long` decoded as BigInt. */
export function avroTypeForSchema(schema: object): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigintLongType }, wrapUnions: false });
}
