import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import avro from 'avsc';
import { decodeManifest, encodeManifest, EntryStatus } from '../../../src/iceberg/manifest.js';
import { bigintLongType } from '../../../src/iceberg/avro/bigint-long-type.js';
import type { PartitionSpec, Schema } from '../../../src/iceberg/schema.js';
import type { DataFile } from '../../../src/iceberg/data-file.js';
import { BY_DAY, ORDERS_SCHEMA, sampleDataFile } from './support/sample-table.js';

const SNAPSHOT = (1n << 62n) + 12345n;

async function decodeWithAvsc(bytes: Uint8Array): Promise<{ schema: Record<string, unknown>; records: Record<string, any>[] }> {
  let schema: Record<string, unknown> = {};
  const records: Record<string, any>[] = [];
  const decoder = new avro.streams.BlockDecoder({
    parseHook: (s: unknown) => {
      schema = s as Record<string, unknown>;
      return avro.Type.forSchema(s as avro.Schema, { registry: { long: bigintLongType } });
    },
  });
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (r: Record<string, any>) => records.push(r)).on('end', resolve).on('error', reject);
    Readable.from([Buffer.from(bytes)]).pipe(decoder);
  });
  return { schema, records };
}

function fieldIds(schema: unknown, out = new Map<string, number>(), prefix = ''): Map<string, number> {
  const s = schema as { type?: unknown; fields?: { name: string; type: unknown; 'field-id': number }[]; items?: unknown };
  if (Array.isArray(schema)) schema.forEach((t) => fieldIds(t, out, prefix));
  else if (s && typeof s === 'object') {
    if (s.fields) for (const f of s.fields) {
      out.set(`${prefix}${f.name}`, f['field-id']);
      fieldIds(f.type, out, `${prefix}${f.name}.`);
    }
    if (s.items) fieldIds(s.items, out, prefix);
    if (typeof s.type === 'object') fieldIds(s.type, out, prefix);
  }
  return out;
}

test('manifest round trip decodes to the same DataFiles', () => {
  const files = [sampleDataFile('s3://b/data/a.parquet', 19800, 10), { ...sampleDataFile('s3://b/data/b.parquet', 19801, 3), sortOrderId: 0 }];
  const bytes = encodeManifest(files, { schema: ORDERS_SCHEMA, spec: BY_DAY, snapshotId: SNAPSHOT });
  const m = decodeManifest(bytes);
  assert.equal(m.entries.length, 2);
  for (const [i, e] of m.entries.entries()) {
    assert.equal(e.status, EntryStatus.ADDED);
    assert.equal(e.snapshotId, SNAPSHOT);
    assert.equal(e.sequenceNumber, null, 'new entries inherit the sequence number');
    assert.equal(e.fileSequenceNumber, null);
    assert.deepEqual(e.dataFile, files[i]);
  }
});

test('manifest header metadata has the v2 keys', () => {
  const bytes = encodeManifest([sampleDataFile('s3://b/a.parquet', 1, 1)], { schema: ORDERS_SCHEMA, spec: BY_DAY, snapshotId: 7n });
  const { metadata } = decodeManifest(bytes);
  assert.deepEqual(JSON.parse(metadata['schema']!), ORDERS_SCHEMA);
  assert.equal(metadata['schema-id'], '0');
  assert.deepEqual(JSON.parse(metadata['partition-spec']!), BY_DAY.fields);
  assert.equal(metadata['partition-spec-id'], '0');
  assert.equal(metadata['format-version'], '2');
  assert.equal(metadata['content'], 'data');
});

test('manifest schema carries the spec field ids; avsc decodes the same values', async () => {
  const file = sampleDataFile('s3://b/a.parquet', 19800, 42);
  const bytes = encodeManifest([file], { schema: ORDERS_SCHEMA, spec: BY_DAY, snapshotId: SNAPSHOT });
  const { schema, records } = await decodeWithAvsc(bytes);
  const ids = fieldIds(schema);
  const expected: Record<string, number> = {
    status: 0, snapshot_id: 1, sequence_number: 3, file_sequence_number: 4, data_file: 2,
    'data_file.content': 134, 'data_file.file_path': 100, 'data_file.file_format': 101, 'data_file.partition': 102,
    'data_file.record_count': 103, 'data_file.file_size_in_bytes': 104, 'data_file.column_sizes': 108,
    'data_file.value_counts': 109, 'data_file.null_value_counts': 110, 'data_file.nan_value_counts': 137,
    'data_file.lower_bounds': 125, 'data_file.upper_bounds': 128, 'data_file.key_metadata': 131,
    'data_file.split_offsets': 132, 'data_file.equality_ids': 135, 'data_file.sort_order_id': 140,
    'data_file.referenced_data_file': 143, 'data_file.partition.created_at_day': 1000,
    'data_file.column_sizes.key': 117, 'data_file.column_sizes.value': 118,
    'data_file.lower_bounds.key': 126, 'data_file.lower_bounds.value': 127,
  };
  for (const [name, id] of Object.entries(expected)) assert.equal(ids.get(name), id, name);
  // day partitions are Iceberg `date` (what pyiceberg and Java expect for the day transform)
  assert.match(JSON.stringify(schema), /"name":"created_at_day","type":\["null",\{"type":"int","logicalType":"date"\}\]/);
  const r = records[0]!;
  assert.equal(r.status, 1);
  assert.equal(r.snapshot_id, SNAPSHOT);
  assert.equal(r.data_file.file_path, file.filePath);
  assert.equal(r.data_file.partition.created_at_day, 19800);
  assert.equal(r.data_file.record_count, 42n);
  assert.deepEqual(r.data_file.value_counts.map((e: { key: number; value: bigint }) => [e.key, e.value]), [[1, 42n], [2, 42n]]);
  assert.deepEqual(new Uint8Array(r.data_file.upper_bounds[1].value), file.upperBounds.get(2));
});

test('partition values of every primitive result type survive the manifest', () => {
  const schema: Schema = {
    type: 'struct',
    'schema-id': 3,
    fields: [
      { id: 1, name: 'l', required: false, type: 'long' },
      { id: 2, name: 's', required: false, type: 'string' },
      { id: 3, name: 'd', required: false, type: 'decimal(20, 2)' },
      { id: 4, name: 'u', required: false, type: 'uuid' },
      { id: 5, name: 'ts', required: false, type: 'timestamp' },
      { id: 6, name: 'b', required: false, type: 'boolean' },
      { id: 7, name: 'bin', required: false, type: 'binary' },
      { id: 8, name: 'f', required: false, type: 'double' },
    ],
  };
  const spec: PartitionSpec = {
    'spec-id': 2,
    fields: [
      { 'source-id': 1, 'field-id': 1000, name: 'l', transform: 'identity' },
      { 'source-id': 2, 'field-id': 1001, name: 's-trunc', transform: 'truncate[4]' },
      { 'source-id': 3, 'field-id': 1002, name: 'd', transform: 'identity' },
      { 'source-id': 4, 'field-id': 1003, name: 'u', transform: 'identity' },
      { 'source-id': 5, 'field-id': 1004, name: 'ts_hour', transform: 'hour' },
      { 'source-id': 6, 'field-id': 1005, name: 'b', transform: 'identity' },
      { 'source-id': 7, 'field-id': 1006, name: 'bin', transform: 'identity' },
      { 'source-id': 2, 'field-id': 1007, name: 's_bucket', transform: 'bucket[16]' },
      { 'source-id': 8, 'field-id': 1008, name: 'f', transform: 'identity' },
    ],
  };
  const base = sampleDataFile('file:///t/a.parquet', 0, 1);
  const partition = {
    l: 1n << 60n,
    's-trunc': 'abcd',
    d: new Uint8Array([0x85]), // -123 unscaled, minimal two's complement
    u: new Uint8Array(16).fill(7),
    ts_hour: 480000,
    b: true,
    bin: new Uint8Array([1, 2, 3]),
    s_bucket: 5,
    f: null,
  };
  const file: DataFile = { ...base, specId: 2, partition };
  const m = decodeManifest(encodeManifest([file], { schema, spec, snapshotId: 1n }));
  assert.deepEqual(m.entries[0]!.dataFile.partition, partition);
});

test('refuses files of another partition spec', () => {
  const file = { ...sampleDataFile('s3://b/a.parquet', 1, 1), specId: 5 };
  assert.throws(() => encodeManifest([file], { schema: ORDERS_SCHEMA, spec: BY_DAY, snapshotId: 1n }), /spec 5/);
});
