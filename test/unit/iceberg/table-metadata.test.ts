import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  currentSnapshot,
  lastColumnId,
  newSnapshotId,
  newTableMetadata,
  parseTableMetadata,
  serializeTableMetadata,
  withSnapshot,
  type Snapshot,
} from '../../../src/iceberg/table-metadata.js';
import { metadataFileVersion, nextMetadataFileLocation } from '../../../src/iceberg/table-metadata-file.js';
import { InvalidTableMetadataError } from '../../../src/errors.js';
import { BY_DAY, ORDERS_SCHEMA } from './support/sample-table.js';

const REQUIRED_V2 = [
  'format-version', 'table-uuid', 'location', 'last-sequence-number', 'last-updated-ms', 'last-column-id', 'schemas',
  'current-schema-id', 'partition-specs', 'default-spec-id', 'last-partition-id', 'sort-orders', 'default-sort-order-id',
];

test('new table metadata has every required v2 field with spec values', () => {
  const md = newTableMetadata({ location: 's3://bucket/', schema: ORDERS_SCHEMA, spec: BY_DAY, properties: { a: 'b' }, nowMs: 1700000000000 });
  const json = JSON.parse(serializeTableMetadata(md)) as Record<string, unknown>;
  for (const key of REQUIRED_V2) assert.ok(key in json, key);
  assert.equal(json['format-version'], 2);
  assert.equal(json['location'], 's3://bucket');
  assert.match(json['table-uuid'] as string, /^[0-9a-f-]{36}$/);
  assert.equal(json['last-sequence-number'], 0);
  assert.equal(json['last-updated-ms'], 1700000000000);
  assert.equal(json['last-column-id'], 6, 'list element id counts');
  assert.equal(json['last-partition-id'], 1000);
  assert.equal(json['current-snapshot-id'], -1);
  assert.deepEqual(json['sort-orders'], [{ 'order-id': 0, fields: [] }]);
  assert.deepEqual(json['partition-specs'], [BY_DAY]);
  assert.deepEqual(json['properties'], { a: 'b' });
  assert.equal(newTableMetadata({ location: 'x', schema: ORDERS_SCHEMA })['last-partition-id'], 999);
  assert.equal(lastColumnId({ type: 'struct', 'schema-id': 0, fields: [] }), 0);
});

function snapshot(id: bigint, seq: number, parent?: bigint): Snapshot {
  return {
    'snapshot-id': id,
    ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
    'sequence-number': seq,
    'timestamp-ms': 1700000000000 + seq,
    'manifest-list': `s3://b/metadata/snap-${id}.avro`,
    summary: { operation: 'append', 'added-records': '5' },
    'schema-id': 0,
  };
}

test('withSnapshot appends snapshot, logs, main ref and sequence number', () => {
  const md0 = newTableMetadata({ location: 's3://b', schema: ORDERS_SCHEMA, nowMs: 1 });
  const s1 = snapshot(11n, 1);
  const md1 = withSnapshot(md0, s1, 's3://b/metadata/00000-a.metadata.json', 5);
  assert.equal(md1['last-sequence-number'], 1);
  assert.equal(md1['current-snapshot-id'], 11n);
  assert.deepEqual(md1.refs, { main: { 'snapshot-id': 11n, type: 'branch' } });
  assert.deepEqual(md1['snapshot-log'], [{ 'snapshot-id': 11n, 'timestamp-ms': s1['timestamp-ms'] }]);
  assert.deepEqual(md1['metadata-log'], [{ 'metadata-file': 's3://b/metadata/00000-a.metadata.json', 'timestamp-ms': 1 }]);
  assert.equal(currentSnapshot(md1), s1);
  assert.throws(() => withSnapshot(md1, snapshot(12n, 1, 11n), undefined), InvalidTableMetadataError);
});

test('metadata log is pruned to write.metadata.previous-versions-max', () => {
  let md = newTableMetadata({ location: 's3://b', schema: ORDERS_SCHEMA, properties: { 'write.metadata.previous-versions-max': '2' } });
  for (let i = 1; i <= 4; i++) md = withSnapshot(md, snapshot(BigInt(i), i, i > 1 ? BigInt(i - 1) : undefined), `m${i}`);
  assert.deepEqual(md['metadata-log'].map((e) => e['metadata-file']), ['m3', 'm4']);
});

test('63-bit snapshot ids survive serialize → parse exactly', () => {
  const big = 9223372036854775807n - 3n;
  const md0 = newTableMetadata({ location: 's3://b', schema: ORDERS_SCHEMA });
  const md = withSnapshot(withSnapshot(md0, snapshot(big - 1n, 1), 'm0'), snapshot(big, 2, big - 1n), 'm1');
  const text = serializeTableMetadata(md);
  assert.match(text, new RegExp(`"current-snapshot-id": ${big}`));
  const back = parseTableMetadata(text);
  assert.equal(back['current-snapshot-id'], big);
  assert.equal(back.snapshots[1]!['parent-snapshot-id'], big - 1n);
  assert.equal(back.refs['main']!['snapshot-id'], big);
  assert.deepEqual(back, md);
});

test('parse: -1 means no snapshot, unknown fields kept, v1 rejected, quoted ids in strings untouched', () => {
  const md = newTableMetadata({ location: 's3://b', schema: ORDERS_SCHEMA, properties: { note: '"snapshot-id": 12345678901234567890' } });
  const raw = JSON.parse(serializeTableMetadata(md));
  raw['statistics'] = [];
  const back = parseTableMetadata(JSON.stringify(raw));
  assert.equal(back['current-snapshot-id'], undefined);
  assert.deepEqual(back['statistics'], []);
  assert.equal(back.properties['note'], '"snapshot-id": 12345678901234567890');
  assert.throws(() => parseTableMetadata(JSON.stringify({ ...raw, 'format-version': 1 })), InvalidTableMetadataError);
});

test('snapshot ids are positive 63-bit and distinct', () => {
  const ids = new Set(Array.from({ length: 1000 }, newSnapshotId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.ok(id > 0n && id < 1n << 63n);
});

test('metadata file names count up from the previous one', () => {
  const first = nextMetadataFileLocation('s3://b/', undefined);
  assert.match(first, /^s3:\/\/b\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/);
  assert.equal(metadataFileVersion(first), 0);
  assert.match(nextMetadataFileLocation('s3://b', first), /\/00001-/);
  assert.match(nextMetadataFileLocation('s3://b', 's3://b/metadata/v41.metadata.json'), /\/00042-/);
});
