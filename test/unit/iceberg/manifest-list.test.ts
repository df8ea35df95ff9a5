import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { decodeAvroContainer } from '../../../src/iceberg/avro/container-reader.js';
import { decodeManifestList, encodeManifestList, summarizePartitions, type ManifestFile } from '../../../src/iceberg/manifest-list.js';
import { BY_DAY, ORDERS_SCHEMA, sampleDataFile } from './support/sample-table.js';

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return new Uint8Array(b);
};

test('partition summaries: min/max as single-value bytes, nulls flagged', () => {
  const files = [
    sampleDataFile('a', 19802, 1),
    sampleDataFile('b', 19800, 1),
    { ...sampleDataFile('c', 0, 1), partition: { created_at_day: null } },
    sampleDataFile('d', 19801, 1),
  ];
  const [s] = summarizePartitions(files, BY_DAY, ORDERS_SCHEMA);
  assert.equal(s!.containsNull, true);
  assert.deepEqual(s!.lowerBound, le32(19800));
  assert.deepEqual(s!.upperBound, le32(19802));
  assert.equal(s!.containsNan, null, 'contains_nan only for float/double');
});

test('manifest list round trip, header metadata and field ids', () => {
  const manifests: ManifestFile[] = [
    {
      manifestPath: 's3://b/metadata/x-m0.avro',
      manifestLength: 4242,
      partitionSpecId: 0,
      content: 0,
      sequenceNumber: 3,
      minSequenceNumber: 3,
      addedSnapshotId: (1n << 62n) + 5n,
      addedFilesCount: 2,
      existingFilesCount: 0,
      deletedFilesCount: 0,
      addedRowsCount: 300,
      existingRowsCount: 0,
      deletedRowsCount: 0,
      partitions: [{ containsNull: false, containsNan: null, lowerBound: le32(1), upperBound: le32(9) }],
      keyMetadata: null,
    },
    {
      manifestPath: 's3://b/metadata/y-m0.avro',
      manifestLength: 100,
      partitionSpecId: 0,
      content: 0,
      sequenceNumber: 1,
      minSequenceNumber: 1,
      addedSnapshotId: 99n,
      addedFilesCount: 1,
      existingFilesCount: 0,
      deletedFilesCount: 0,
      addedRowsCount: 10,
      existingRowsCount: 0,
      deletedRowsCount: 0,
      partitions: null,
      keyMetadata: null,
    },
  ];
  const bytes = encodeManifestList(manifests, { snapshotId: (1n << 62n) + 5n, parentSnapshotId: 99n, sequenceNumber: 3 });
  assert.deepEqual(decodeManifestList(bytes), manifests);
  const { metadata, schema, records } = decodeAvroContainer(bytes);
  assert.equal(metadata['snapshot-id'], String((1n << 62n) + 5n));
  assert.equal(metadata['parent-snapshot-id'], '99');
  assert.equal(metadata['sequence-number'], '3');
  assert.equal(metadata['format-version'], '2');
  const ids = Object.fromEntries((schema['fields'] as { name: string; 'field-id': number }[]).map((f) => [f.name, f['field-id']]));
  assert.deepEqual(ids, {
    manifest_path: 500, manifest_length: 501, partition_spec_id: 502, content: 517, sequence_number: 515,
    min_sequence_number: 516, added_snapshot_id: 503, added_files_count: 504, existing_files_count: 505,
    deleted_files_count: 506, added_rows_count: 512, existing_rows_count: 513, deleted_rows_count: 514,
    partitions: 507, key_metadata: 519,
  });
  assert.match(JSON.stringify(schema), /"element-id":508/);
  // an avsc type built from the header (plain long → number) reads the safe-valued record too
  const plainType = avro.Type.forSchema(schema as avro.Schema);
  assert.equal(plainType.isValid({ ...records[1], added_snapshot_id: 99, manifest_length: 100, sequence_number: 1, min_sequence_number: 1, added_rows_count: 10, existing_rows_count: 0, deleted_rows_count: 0 }), true);
});
