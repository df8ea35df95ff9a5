/**
 * JSON-safe form of {@link DataFile} for checkpoints: Maps become `[key, value]` arrays, bytes
 * become base64, BigInt partition values become tagged decimal strings. Versioned so stored
 * checkpoints stay readable when the shape changes.
 */
import type { DataFile, PartitionValue } from './data-file.js';

type JsonPartitionValue =
  | number
  | string
  | boolean
  | null
  | { readonly bigint: string }
  | { readonly bytes: string }
  | { readonly float: 'NaN' | 'Infinity' | '-Infinity' };

/** Plain-JSON DataFile (version 1). */
export interface DataFileJson {
  readonly v: 1;
  readonly content: 0;
  readonly filePath: string;
  readonly fileFormat: 'PARQUET';
  readonly partition: Readonly<Record<string, JsonPartitionValue>>;
  readonly specId: number;
  readonly recordCount: number;
  readonly fileSizeInBytes: number;
  readonly columnSizes: readonly (readonly [number, number])[];
  readonly valueCounts: readonly (readonly [number, number])[];
  readonly nullValueCounts: readonly (readonly [number, number])[];
  readonly nanValueCounts: readonly (readonly [number, number])[];
  readonly lowerBounds: readonly (readonly [number, string])[];
  readonly upperBounds: readonly (readonly [number, string])[];
  readonly splitOffsets: readonly number[];
  readonly sortOrderId?: number;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

function partitionToJson(v: PartitionValue): JsonPartitionValue {
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (v instanceof Uint8Array) return { bytes: b64(v) };
  // JSON has no NaN/Infinity (identity partitions of float columns can hold them).
  if (typeof v === 'number' && !Number.isFinite(v)) return { float: String(v) as 'NaN' | 'Infinity' | '-Infinity' };
  return v;
}

function partitionFromJson(v: JsonPartitionValue): PartitionValue {
  if (v !== null && typeof v === 'object') {
    if ('bigint' in v) return BigInt(v.bigint);
    if ('bytes' in v) return unb64(v.bytes);
    return Number(v.float);
  }
  return v;
}

/** DataFile → plain JSON value. */
export function dataFileToJson(file: DataFile): DataFileJson {
  return {
    v: 1,
    content: file.content,
    filePath: file.filePath,
    fileFormat: file.fileFormat,
    partition: Object.fromEntries(Object.entries(file.partition).map(([k, v]) => [k, partitionToJson(v)])),
    specId: file.specId,
    recordCount: file.recordCount,
    fileSizeInBytes: file.fileSizeInBytes,
    columnSizes: [...file.columnSizes],
    valueCounts: [...file.valueCounts],
    nullValueCounts: [...file.nullValueCounts],
    nanValueCounts: [...file.nanValueCounts],
    lowerBounds: [...file.lowerBounds].map(([k, v]) => [k, b64(v)] as const),
    upperBounds: [...file.upperBounds].map(([k, v]) => [k, b64(v)] as const),
    splitOffsets: [...file.splitOffsets],
    ...(file.sortOrderId === undefined ? {} : { sortOrderId: file.sortOrderId }),
  };
}

/** Plain JSON (as parsed) → DataFile; throws on an unknown version. */
export function dataFileFromJson(json: DataFileJson): DataFile {
  if (json.v !== 1) throw new Error(`unsupported DataFile JSON version ${String((json as { v?: unknown }).v)}`);
  return {
    content: json.content,
    filePath: json.filePath,
    fileFormat: json.fileFormat,
    partition: Object.fromEntries(Object.entries(json.partition).map(([k, v]) => [k, partitionFromJson(v)])),
    specId: json.specId,
    recordCount: json.recordCount,
    fileSizeInBytes: json.fileSizeInBytes,
    columnSizes: new Map(json.columnSizes),
    valueCounts: new Map(json.valueCounts),
    nullValueCounts: new Map(json.nullValueCounts),
    nanValueCounts: new Map(json.nanValueCounts),
    lowerBounds: new Map(json.lowerBounds.map(([k, v]) => [k, unb64(v)])),
    upperBounds: new Map(json.upperBounds.map(([k, v]) => [k, unb64(v)])),
    splitOffsets: [...json.splitOffsets],
    ...(json.sortOrderId === undefined ? {} : { sortOrderId: json.sortOrderId }),
  };
}
