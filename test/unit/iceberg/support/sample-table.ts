/** A small orders-like schema, day-partitioned, and DataFiles for it (test fixtures). */
import type { DataFile } from '../../../../src/iceberg/data-file.js';
import type { PartitionSpec, Schema } from '../../../../src/iceberg/schema.js';

export const ORDERS_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'order_id', required: true, type: 'long' },
    { id: 2, name: 'customer', required: false, type: 'string' },
    { id: 3, name: 'amount', required: false, type: 'decimal(12, 2)' },
    { id: 4, name: 'created_at', required: true, type: 'timestamptz' },
    { id: 5, name: 'tags', required: false, type: { type: 'list', 'element-id': 6, element: 'string', 'element-required': false } },
  ],
};

export const BY_DAY: PartitionSpec = {
  'spec-id': 0,
  fields: [{ 'source-id': 4, 'field-id': 1000, name: 'created_at_day', transform: 'day' }],
};

const le64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return new Uint8Array(b);
};

/** A plausible data file of `rows` rows in partition `day` (days since epoch). */
export function sampleDataFile(path: string, day: number, rows: number, size = 1000 + rows): DataFile {
  return {
    content: 0,
    filePath: path,
    fileFormat: 'PARQUET',
    partition: { created_at_day: day },
    specId: 0,
    recordCount: rows,
    fileSizeInBytes: size,
    columnSizes: new Map([
      [1, 100],
      [2, 50],
    ]),
    valueCounts: new Map([
      [1, rows],
      [2, rows],
    ]),
    nullValueCounts: new Map([
      [1, 0],
      [2, 1],
    ]),
    nanValueCounts: new Map(),
    lowerBounds: new Map([
      [1, le64(1n)],
      [2, new TextEncoder().encode('alice')],
    ]),
    upperBounds: new Map([
      [1, le64(BigInt(rows))],
      [2, new TextEncoder().encode('zoe')],
    ]),
    splitOffsets: [4],
  };
}
