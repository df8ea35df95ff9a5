/**
 * v2 manifest lists (spec "Manifest Lists"): one Avro container of `manifest_file` records per
 * snapshot attempt, with per-partition-field summaries so readers can skip manifests.
 */
import type { DataFile } from './data-file.js';
import type { PartitionSpec, Schema } from './schema.js';
import { optionalField as optional, requiredField as required } from './avro/avro-field.js';
import { encodeAvroContainer } from './avro/container-writer.js';
import { decodeAvroContainer } from './avro/container-reader.js';
import { comparePartitionValues, partitionTuple, partitionValueToBound } from './partition-tuple.js';

/** Summary of one partition field across a manifest's files (`field_summary`, ids 509–511, 518). */
export interface FieldSummary {
  readonly containsNull: boolean;
  readonly containsNan?: boolean | null;
  readonly lowerBound?: Uint8Array | null;
  readonly upperBound?: Uint8Array | null;
}

/** One `manifest_file` record. Counts are exact numbers; ids are BigInt (63-bit). */
export interface ManifestFile {
  readonly manifestPath: string;
  readonly manifestLength: number;
  readonly partitionSpecId: number;
  /** 0 = data, 1 = deletes. */
  readonly content: 0 | 1;
  readonly sequenceNumber: number;
  readonly minSequenceNumber: number;
  readonly addedSnapshotId: bigint;
  readonly addedFilesCount: number;
  readonly existingFilesCount: number;
  readonly deletedFilesCount: number;
  readonly addedRowsCount: number;
  readonly existingRowsCount: number;
  readonly deletedRowsCount: number;
  readonly partitions?: readonly FieldSummary[] | null;
  readonly keyMetadata?: Uint8Array | null;
}

/** The v2 `manifest_file` Avro schema (spec field ids 500–519). */
export const MANIFEST_FILE_SCHEMA: object = Object.freeze({
  type: 'record',
  name: 'manifest_file',
  fields: [
    required('string', 500, 'manifest_path'),
    required('long', 501, 'manifest_length'),
    required('int', 502, 'partition_spec_id'),
    required('int', 517, 'content'),
    required('long', 515, 'sequence_number'),
    required('long', 516, 'min_sequence_number'),
    required('long', 503, 'added_snapshot_id'),
    required('int', 504, 'added_files_count'),
    required('int', 505, 'existing_files_count'),
    required('int', 506, 'deleted_files_count'),
    required('long', 512, 'added_rows_count'),
    required('long', 513, 'existing_rows_count'),
    required('long', 514, 'deleted_rows_count'),
    optional(
      {
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            required('boolean', 509, 'contains_null'),
            optional('boolean', 518, 'contains_nan'),
            optional('bytes', 510, 'lower_bound'),
            optional('bytes', 511, 'upper_bound'),
          ],
        },
      },
      507,
      'partitions',
    ),
    optional('bytes', 519, 'key_metadata'),
  ],
});

/** Partition field summaries over `files` (all written with `spec`). */
export function summarizePartitions(files: readonly DataFile[], spec: PartitionSpec, schema: Schema): FieldSummary[] {
  return partitionTuple(spec, schema).map((t) => {
    let containsNull = false;
    let containsNan = false;
    let lower: DataFile['partition'][string] = null;
    let upper: DataFile['partition'][string] = null;
    for (const f of files) {
      const v = f.partition[t.field.name] ?? null;
      if (v === null) {
        containsNull = true;
        continue;
      }
      if (typeof v === 'number' && Number.isNaN(v)) {
        containsNan = true;
        continue;
      }
      if (lower === null || comparePartitionValues(v, lower, t.resultType) < 0) lower = v;
      if (upper === null || comparePartitionValues(v, upper, t.resultType) > 0) upper = v;
    }
    const floating = t.resultType === 'float' || t.resultType === 'double';
    return {
      containsNull,
      containsNan: floating ? containsNan : null,
      lowerBound: lower === null ? null : partitionValueToBound(lower, t.resultType),
      upperBound: upper === null ? null : partitionValueToBound(upper, t.resultType),
    };
  });
}

const buf = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : null);

function record(m: ManifestFile): unknown {
  return {
    manifest_path: m.manifestPath,
    manifest_length: BigInt(m.manifestLength),
    partition_spec_id: m.partitionSpecId,
    content: m.content,
    sequence_number: BigInt(m.sequenceNumber),
    min_sequence_number: BigInt(m.minSequenceNumber),
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: m.addedFilesCount,
    existing_files_count: m.existingFilesCount,
    deleted_files_count: m.deletedFilesCount,
    added_rows_count: BigInt(m.addedRowsCount),
    existing_rows_count: BigInt(m.existingRowsCount),
    deleted_rows_count: BigInt(m.deletedRowsCount),
    partitions:
      m.partitions?.map((p) => ({
        contains_null: p.containsNull,
        contains_nan: p.containsNan ?? null,
        lower_bound: buf(p.lowerBound),
        upper_bound: buf(p.upperBound),
      })) ?? null,
    key_metadata: buf(m.keyMetadata),
  };
}

/** Header metadata Java and pyiceberg write beside the records (informational). */
export interface ManifestListContext {
  readonly snapshotId: bigint;
  readonly parentSnapshotId?: bigint;
  readonly sequenceNumber: number;
}

/** Encodes a manifest list. */
export function encodeManifestList(manifests: readonly ManifestFile[], ctx: ManifestListContext): Uint8Array {
  return encodeAvroContainer(MANIFEST_FILE_SCHEMA, manifests.map(record), {
    metadata: {
      'snapshot-id': ctx.snapshotId.toString(),
      'parent-snapshot-id': ctx.parentSnapshotId === undefined ? 'null' : ctx.parentSnapshotId.toString(),
      'sequence-number': String(ctx.sequenceNumber),
      'format-version': '2',
    },
  });
}

interface AvroManifestFile {
  manifest_path: string;
  manifest_length: bigint;
  partition_spec_id: number;
  content?: number;
  sequence_number?: bigint;
  min_sequence_number?: bigint;
  added_snapshot_id: bigint;
  added_files_count?: number | null;
  existing_files_count?: number | null;
  deleted_files_count?: number | null;
  added_rows_count?: bigint | null;
  existing_rows_count?: bigint | null;
  deleted_rows_count?: bigint | null;
  partitions?: { contains_null: boolean; contains_nan?: boolean | null; lower_bound?: Buffer | null; upper_bound?: Buffer | null }[] | null;
  key_metadata?: Buffer | null;
}

const bytes = (b: Buffer | null | undefined) => (b ? new Uint8Array(b) : null);

/** Decodes a manifest list (v1 lists read with the spec's v2 defaults: sequence numbers 0). */
export function decodeManifestList(data: Uint8Array): ManifestFile[] {
  return decodeAvroContainer<AvroManifestFile>(data).records.map((r) => ({
    manifestPath: r.manifest_path,
    manifestLength: Number(r.manifest_length),
    partitionSpecId: r.partition_spec_id,
    content: (r.content ?? 0) as 0 | 1,
    sequenceNumber: Number(r.sequence_number ?? 0n),
    minSequenceNumber: Number(r.min_sequence_number ?? 0n),
    addedSnapshotId: r.added_snapshot_id,
    addedFilesCount: r.added_files_count ?? 0,
    existingFilesCount: r.existing_files_count ?? 0,
    deletedFilesCount: r.deleted_files_count ?? 0,
    addedRowsCount: Number(r.added_rows_count ?? 0n),
    existingRowsCount: Number(r.existing_rows_count ?? 0n),
    deletedRowsCount: Number(r.deleted_rows_count ?? 0n),
    partitions:
      r.partitions?.map((p) => ({
        containsNull: p.contains_null,
        containsNan: p.contains_nan ?? null,
        lowerBound: bytes(p.lower_bound),
        upperBound: bytes(p.upper_bound),
      })) ?? null,
    keyMetadata: bytes(r.key_metadata),
  }));
}
