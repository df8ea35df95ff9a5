/**
 * Table metadata, format version 2 (spec "Table Metadata", Appendix C), in its exact JSON shape,
 * plus the builders this library needs: a new table, and a table with one more snapshot.
 * Snapshot ids are 63-bit, so they are BigInt here and JSON (de)serialization keeps them exact.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IcebergType, NestedField, PartitionSpec, Schema } from './schema.js';
import { InvalidTableMetadataError } from '../errors.js';

/** A snapshot summary: `operation` plus string-valued metrics and caller properties. */
export type SnapshotSummary = Readonly<Record<string, string>> & { readonly operation: 'append' | 'replace' | 'overwrite' | 'delete' };

export interface Snapshot {
  readonly 'snapshot-id': bigint;
  readonly 'parent-snapshot-id'?: bigint;
  readonly 'sequence-number': number;
  readonly 'timestamp-ms': number;
  readonly 'manifest-list': string;
  readonly summary: SnapshotSummary;
  readonly 'schema-id'?: number;
}

export interface SnapshotRef {
  readonly 'snapshot-id': bigint;
  readonly type: 'branch' | 'tag';
  readonly 'min-snapshots-to-keep'?: number;
  readonly 'max-snapshot-age-ms'?: number;
  readonly 'max-ref-age-ms'?: number;
}

export interface SortField {
  readonly transform: string;
  readonly 'source-id': number;
  readonly direction: 'asc' | 'desc';
  readonly 'null-order': 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  readonly 'order-id': number;
  readonly fields: readonly SortField[];
}

export interface SnapshotLogEntry {
  readonly 'snapshot-id': bigint;
  readonly 'timestamp-ms': number;
}

export interface MetadataLogEntry {
  readonly 'metadata-file': string;
  readonly 'timestamp-ms': number;
}

/** v2 table metadata. Unknown fields read from other writers are kept and written back. */
export interface TableMetadata {
  readonly 'format-version': 2;
  readonly 'table-uuid': string;
  readonly location: string;
  readonly 'last-sequence-number': number;
  readonly 'last-updated-ms': number;
  readonly 'last-column-id': number;
  readonly schemas: readonly Schema[];
  readonly 'current-schema-id': number;
  readonly 'partition-specs': readonly PartitionSpec[];
  readonly 'default-spec-id': number;
  readonly 'last-partition-id': number;
  readonly properties: Readonly<Record<string, string>>;
  /** Undefined when the table has no snapshot (written as -1, as the Java reference does for v2). */
  readonly 'current-snapshot-id'?: bigint;
  readonly snapshots: readonly Snapshot[];
  readonly 'snapshot-log': readonly SnapshotLogEntry[];
  readonly 'metadata-log': readonly MetadataLogEntry[];
  readonly 'sort-orders': readonly SortOrder[];
  readonly 'default-sort-order-id': number;
  readonly refs: Readonly<Record<string, SnapshotRef>>;
  readonly [extra: string]: unknown;
}

/** Unsorted order, id 0, as the spec reserves it. */
export const UNSORTED_ORDER: SortOrder = Object.freeze({ 'order-id': 0, fields: [] });

/** Default for `write.metadata.previous-versions-max` (how many metadata-log entries are kept). */
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;

function maxFieldId(type: IcebergType): number {
  if (typeof type === 'string') return 0;
  switch (type.type) {
    case 'struct':
      return Math.max(0, ...type.fields.map((f: NestedField) => Math.max(f.id, maxFieldId(f.type))));
    case 'list':
      return Math.max(type['element-id'], maxFieldId(type.element));
    case 'map':
      return Math.max(type['key-id'], type['value-id'], maxFieldId(type.key), maxFieldId(type.value));
  }
}

/** Highest field id used anywhere in the schema (nested, list element and map ids included). */
export function lastColumnId(schema: Schema): number {
  return maxFieldId({ type: 'struct', fields: schema.fields });
}

/** Options for a new table's first metadata. */
export interface NewTableMetadataOptions {
  readonly location: string;
  readonly schema: Schema;
  readonly spec?: PartitionSpec;
  readonly sortOrder?: SortOrder;
  readonly properties?: Readonly<Record<string, string>>;
  readonly tableUuid?: string;
  readonly nowMs?: number;
}

/** First metadata of a new v2 table: no snapshot, sequence number 0. */
export function newTableMetadata(options: NewTableMetadataOptions): TableMetadata {
  const spec = options.spec ?? { 'spec-id': 0, fields: [] };
  const sortOrder = options.sortOrder ?? UNSORTED_ORDER;
  return {
    'format-version': 2,
    'table-uuid': options.tableUuid ?? randomUUID(),
    location: options.location.replace(/\/+$/, ''),
    'last-sequence-number': 0,
    'last-updated-ms': options.nowMs ?? Date.now(),
    'last-column-id': lastColumnId(options.schema),
    schemas: [options.schema],
    'current-schema-id': options.schema['schema-id'],
    'partition-specs': [spec],
    'default-spec-id': spec['spec-id'],
    // 999 when unpartitioned so the first partition field added later gets 1000.
    'last-partition-id': Math.max(999, ...spec.fields.map((f) => f['field-id'])),
    properties: { ...(options.properties ?? {}) },
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [sortOrder],
    'default-sort-order-id': sortOrder['order-id'],
    refs: {},
  };
}

/** A random positive 63-bit snapshot id (spec Appendix F recommends random ids over timestamps). */
export function newSnapshotId(): bigint {
  const id = randomBytes(8).readBigUInt64BE(0) & 0x7fffffffffffffffn;
  return id === 0n ? 1n : id;
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata['current-snapshot-id'];
  return id === undefined ? undefined : metadata.snapshots.find((s) => s['snapshot-id'] === id);
}

export function currentSchema(metadata: TableMetadata): Schema {
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
  if (!schema) throw new InvalidTableMetadataError(`current schema ${metadata['current-schema-id']} is not in schemas`);
  return schema;
}

export function partitionSpecById(metadata: TableMetadata, specId: number): PartitionSpec {
  const spec = metadata['partition-specs'].find((s) => s['spec-id'] === specId);
  if (!spec) throw new InvalidTableMetadataError(`partition spec ${specId} is not in the table metadata`);
  return spec;
}

export function defaultPartitionSpec(metadata: TableMetadata): PartitionSpec {
  return partitionSpecById(metadata, metadata['default-spec-id']);
}

/**
 * `base` with `snapshot` appended and made current on `main`; `baseLocation` (the file `base` was
 * read from) goes into the metadata log.
 */
export function withSnapshot(base: TableMetadata, snapshot: Snapshot, baseLocation: string | undefined, nowMs = Date.now()): TableMetadata {
  if (snapshot['sequence-number'] <= base['last-sequence-number']) {
    throw new InvalidTableMetadataError(`snapshot sequence number ${snapshot['sequence-number']} is not above ${base['last-sequence-number']}`);
  }
  const metadataLog = metadataLogAfter(base, baseLocation);
  return {
    ...base,
    'last-sequence-number': snapshot['sequence-number'],
    'last-updated-ms': Math.max(nowMs, base['last-updated-ms']),
    'current-snapshot-id': snapshot['snapshot-id'],
    snapshots: [...base.snapshots, snapshot],
    'snapshot-log': [...base['snapshot-log'], { 'snapshot-id': snapshot['snapshot-id'], 'timestamp-ms': snapshot['timestamp-ms'] }],
    'metadata-log': metadataLog,
    refs: { ...base.refs, main: { 'snapshot-id': snapshot['snapshot-id'], type: 'branch' } },
  };
}

/** `base`'s metadata log with the file `base` was read from appended, bounded by `write.metadata.previous-versions-max`. */
export function metadataLogAfter(base: TableMetadata, baseLocation: string | undefined): readonly MetadataLogEntry[] {
  if (!baseLocation) return base['metadata-log'];
  const keep = Number(base.properties['write.metadata.previous-versions-max'] ?? DEFAULT_PREVIOUS_VERSIONS_MAX);
  return [...base['metadata-log'], { 'metadata-file': baseLocation, 'timestamp-ms': base['last-updated-ms'] }].slice(-Math.max(1, keep));
}

/**
 * `base` with `schema` added to `schemas` and made current (spec "Schema Evolution": a new schema
 * id, `last-column-id` never decreasing); `baseLocation` goes into the metadata log.
 */
export function withSchema(base: TableMetadata, schema: Schema, lastColumnId: number, baseLocation: string | undefined, nowMs = Date.now()): TableMetadata {
  if (base.schemas.some((s) => s['schema-id'] === schema['schema-id'])) {
    throw new InvalidTableMetadataError(`schema id ${schema['schema-id']} is already in the table metadata`);
  }
  return {
    ...base,
    'last-updated-ms': Math.max(nowMs, base['last-updated-ms']),
    'last-column-id': Math.max(base['last-column-id'], lastColumnId),
    schemas: [...base.schemas, schema],
    'current-schema-id': schema['schema-id'],
    'metadata-log': metadataLogAfter(base, baseLocation),
  };
}

/** The id a new schema of this table gets: one above every schema id it has. */
export function nextSchemaId(metadata: TableMetadata): number {
  return Math.max(-1, ...metadata.schemas.map((s) => s['schema-id'])) + 1;
}

const BIGINT_KEYS = new Set(['snapshot-id', 'parent-snapshot-id', 'current-snapshot-id']);
const BIGINT_MARK = '__streamline_bigint__';

/** Serializes metadata to spec JSON, writing BigInt ids as exact JSON integers. */
export function serializeTableMetadata(metadata: TableMetadata): string {
  const body = { ...metadata, 'current-snapshot-id': metadata['current-snapshot-id'] ?? -1n };
  const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? `${BIGINT_MARK}${value}` : value), 2);
  return text.replace(new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g'), '$1');
}

function reviveIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveIds);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = BIGINT_KEYS.has(key) && typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : key === 'properties' ? v : reviveIds(v);
  }
  return out;
}

/** Parses spec JSON (any writer), keeping 63-bit ids exact; rejects formats other than v2. */
export function parseTableMetadata(text: string): TableMetadata {
  // JSON.parse would round ids above 2^53; quote them first (not inside strings: those quotes are escaped).
  const quoted = text.replace(/(?<!\\)"(snapshot-id|parent-snapshot-id|current-snapshot-id)"\s*:\s*(-?\d+)/g, '"$1":"$2"');
  const raw = reviveIds(JSON.parse(quoted)) as Record<string, unknown>;
  if (raw['format-version'] !== 2) throw new InvalidTableMetadataError(`unsupported table format version ${String(raw['format-version'])} (this library writes v2)`);
  const current = raw['current-snapshot-id'];
  const metadata = {
    properties: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
    ...raw,
  } as Record<string, unknown>;
  if (current === undefined || current === null || current === -1n) delete metadata['current-snapshot-id'];
  return metadata as unknown as TableMetadata;
}
