/**
 * v2 data manifests (spec "Manifests"): Avro container files of `manifest_entry` records with the
 * spec's field ids, and header keys `schema`, `schema-id`, `partition-spec`, `partition-spec-id`,
 * `format-version`, `content`. New entries leave sequence numbers null so they inherit the
 * snapshot's sequence number from the manifest list, which lets a retry reuse the manifest.
 */
import type { DataFile, PartitionValue } from './data-file.js';
import type { PartitionSpec, Schema } from './schema.js';
import { optionalField as optional, requiredField as required } from './avro/avro-field.js';
import { encodeAvroContainer } from './avro/container-writer.js';
import { decodeAvroContainer } from './avro/container-reader.js';
import { fromAvroPartitionValue, partitionAvroSchema, partitionTuple, toAvroPartitionValue, type PartitionTupleField } from './partition-tuple.js';
import { InvalidTableMetadataError } from '../errors.js';

/** Manifest entry status (field 0). */
export enum EntryStatus {
  EXISTING = 0,
  ADDED = 1,
  DELETED = 2,
}

/** A decoded manifest entry; sequence numbers are null when inherited from the manifest list. */
export interface ManifestEntry {
  readonly status: EntryStatus;
  readonly snapshotId: bigint | null;
  readonly sequenceNumber: bigint | null;
  readonly fileSequenceNumber: bigint | null;
  readonly dataFile: DataFile;
}

/** A decoded manifest: header metadata and entries. */
export interface Manifest {
  readonly metadata: Readonly<Record<string, string>>;
  readonly entries: ManifestEntry[];
}

const intLongMap = (keyId: number, valueId: number, valueType: string) => ({
  type: 'array',
  logicalType: 'map',
  items: {
    type: 'record',
    name: `k${keyId}_v${valueId}`,
    fields: [
      { name: 'key', type: 'int', 'field-id': keyId },
      { name: 'value', type: valueType, 'field-id': valueId },
    ],
  },
});

/** The v2 `manifest_entry` Avro schema for a partition tuple (spec field ids 0–4, 100–143). */
export function manifestEntrySchema(tuple: readonly PartitionTupleField[]): object {
  const dataFile = {
    type: 'record',
    name: 'r2',
    fields: [
      required('int', 134, 'content'),
      required('string', 100, 'file_path'),
      required('string', 101, 'file_format'),
      required(partitionAvroSchema(tuple), 102, 'partition'),
      required('long', 103, 'record_count'),
      required('long', 104, 'file_size_in_bytes'),
      optional(intLongMap(117, 118, 'long'), 108, 'column_sizes'),
      optional(intLongMap(119, 120, 'long'), 109, 'value_counts'),
      optional(intLongMap(121, 122, 'long'), 110, 'null_value_counts'),
      optional(intLongMap(138, 139, 'long'), 137, 'nan_value_counts'),
      optional(intLongMap(126, 127, 'bytes'), 125, 'lower_bounds'),
      optional(intLongMap(129, 130, 'bytes'), 128, 'upper_bounds'),
      optional('bytes', 131, 'key_metadata'),
      optional({ type: 'array', items: 'long', 'element-id': 133 }, 132, 'split_offsets'),
      optional({ type: 'array', items: 'int', 'element-id': 136 }, 135, 'equality_ids'),
      optional('int', 140, 'sort_order_id'),
      optional('string', 143, 'referenced_data_file'),
    ],
  };
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      required('int', 0, 'status'),
      optional('long', 1, 'snapshot_id'),
      optional('long', 3, 'sequence_number'),
      optional('long', 4, 'file_sequence_number'),
      required(dataFile, 2, 'data_file'),
    ],
  };
}

const mapEntries = <V>(m: ReadonlyMap<number, V>, convert: (v: V) => unknown) =>
  m.size === 0 ? null : [...m].sort((a, b) => a[0] - b[0]).map(([key, value]) => ({ key, value: convert(value) }));

/** An entry to write; null sequence numbers / snapshot id are inherited (ADDED entries only). */
export interface ManifestEntryInput {
  readonly status: EntryStatus;
  readonly snapshotId: bigint | null;
  readonly sequenceNumber: bigint | null;
  readonly fileSequenceNumber: bigint | null;
  readonly dataFile: DataFile;
}

function entryRecord(entry: ManifestEntryInput, tuple: readonly PartitionTupleField[]): unknown {
  const file = entry.dataFile;
  const partition: Record<string, unknown> = {};
  for (const t of tuple) partition[t.avroName] = toAvroPartitionValue(file.partition[t.field.name] ?? null, t.resultType);
  const long = (v: number) => BigInt(v);
  const bytes = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return {
    status: entry.status,
    snapshot_id: entry.snapshotId,
    sequence_number: entry.sequenceNumber,
    file_sequence_number: entry.fileSequenceNumber,
    data_file: {
      content: file.content,
      file_path: file.filePath,
      file_format: file.fileFormat,
      partition,
      record_count: long(file.recordCount),
      file_size_in_bytes: long(file.fileSizeInBytes),
      column_sizes: mapEntries(file.columnSizes, long),
      value_counts: mapEntries(file.valueCounts, long),
      null_value_counts: mapEntries(file.nullValueCounts, long),
      nan_value_counts: mapEntries(file.nanValueCounts, long),
      lower_bounds: mapEntries(file.lowerBounds, bytes),
      upper_bounds: mapEntries(file.upperBounds, bytes),
      key_metadata: null,
      split_offsets: file.splitOffsets.length ? file.splitOffsets.map(long) : null,
      equality_ids: null,
      sort_order_id: file.sortOrderId ?? null,
      referenced_data_file: null,
    },
  };
}

/** What a manifest is written for. */
export interface ManifestContext {
  readonly schema: Schema;
  readonly spec: PartitionSpec;
  /** The snapshot the files are added in (kept across commit retries). */
  readonly snapshotId: bigint;
}

/** Encodes a data manifest whose entries are all ADDED files of one partition spec. */
export function encodeManifest(files: readonly DataFile[], ctx: ManifestContext): Uint8Array {
  return encodeManifestEntries(
    files.map((dataFile) => ({ status: EntryStatus.ADDED, snapshotId: ctx.snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile })),
    ctx,
  );
}

/** Encodes a data manifest of arbitrary entries (e.g. EXISTING ones when merging manifests). */
export function encodeManifestEntries(entries: readonly ManifestEntryInput[], ctx: Omit<ManifestContext, 'snapshotId'>): Uint8Array {
  const tuple = partitionTuple(ctx.spec, ctx.schema);
  for (const { dataFile: f } of entries) {
    if (f.specId !== ctx.spec['spec-id']) throw new Error(`data file ${f.filePath} has spec ${f.specId}, manifest is for spec ${ctx.spec['spec-id']}`);
  }
  return encodeAvroContainer(manifestEntrySchema(tuple), entries.map((e) => entryRecord(e, tuple)), {
    metadata: {
      schema: JSON.stringify(ctx.schema),
      'schema-id': String(ctx.schema['schema-id']),
      'partition-spec': JSON.stringify(ctx.spec.fields),
      'partition-spec-id': String(ctx.spec['spec-id']),
      'format-version': '2',
      content: 'data',
    },
  });
}

type AvroMapEntries<V> = { key: number; value: V }[] | null;
const toMap = <V, R>(entries: AvroMapEntries<V>, convert: (v: V) => R) => new Map((entries ?? []).map((e) => [e.key, convert(e.value)] as [number, R]));
const toNumber = (v: bigint | number) => Number(v);

interface AvroDataFile {
  content?: number;
  file_path: string;
  file_format: string;
  partition: Record<string, unknown>;
  record_count: bigint;
  file_size_in_bytes: bigint;
  column_sizes?: AvroMapEntries<bigint>;
  value_counts?: AvroMapEntries<bigint>;
  null_value_counts?: AvroMapEntries<bigint>;
  nan_value_counts?: AvroMapEntries<bigint>;
  lower_bounds?: AvroMapEntries<Buffer>;
  upper_bounds?: AvroMapEntries<Buffer>;
  split_offsets?: bigint[] | null;
  sort_order_id?: number | null;
}

interface AvroEntry {
  status: number;
  snapshot_id?: bigint | null;
  sequence_number?: bigint | null;
  file_sequence_number?: bigint | null;
  data_file: AvroDataFile;
}

/** Decodes a manifest written by this library or another Iceberg writer (partition tuple keyed by partition field name). */
export function decodeManifest(bytes: Uint8Array): Manifest {
  const container = decodeAvroContainer<AvroEntry>(bytes);
  const { metadata } = container;
  const specFields = JSON.parse(metadata['partition-spec'] ?? '[]') as PartitionSpec['fields'];
  const specId = Number(metadata['partition-spec-id'] ?? 0);
  if (!metadata['schema']) throw new InvalidTableMetadataError('manifest header has no schema');
  const schema = JSON.parse(metadata['schema']) as Schema;
  const tuple = partitionTuple({ 'spec-id': specId, fields: specFields }, schema);
  const bytesOf = (b: Buffer) => new Uint8Array(b);
  const entries = container.records.map((r): ManifestEntry => {
    const d = r.data_file;
    const partition: Record<string, PartitionValue> = {};
    for (const t of tuple) partition[t.field.name] = fromAvroPartitionValue(d.partition[t.avroName], t.resultType);
    const dataFile: DataFile = {
      content: (d.content ?? 0) as 0,
      filePath: d.file_path,
      fileFormat: d.file_format.toUpperCase() as 'PARQUET',
      partition,
      specId,
      recordCount: Number(d.record_count),
      fileSizeInBytes: Number(d.file_size_in_bytes),
      columnSizes: toMap(d.column_sizes ?? null, toNumber),
      valueCounts: toMap(d.value_counts ?? null, toNumber),
      nullValueCounts: toMap(d.null_value_counts ?? null, toNumber),
      nanValueCounts: toMap(d.nan_value_counts ?? null, toNumber),
      lowerBounds: toMap(d.lower_bounds ?? null, bytesOf),
      upperBounds: toMap(d.upper_bounds ?? null, bytesOf),
      splitOffsets: (d.split_offsets ?? []).map(toNumber),
      ...(d.sort_order_id === null || d.sort_order_id === undefined ? {} : { sortOrderId: d.sort_order_id }),
    };
    return {
      status: r.status as EntryStatus,
      snapshotId: r.snapshot_id ?? null,
      sequenceNumber: r.sequence_number ?? null,
      fileSequenceNumber: r.file_sequence_number ?? null,
      dataFile,
    };
  });
  return { metadata, entries };
}
