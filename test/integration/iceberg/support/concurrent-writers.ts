/**
 * Shared scenario for the catalog integration tests: an orders table partitioned by day, several
 * writers each writing Parquet files (DataFileWriter) and committing one append per batch
 * concurrently — the first append of every writer starts from the same base, so conflicts are
 * certain — and the expectations an independent reader (pyiceberg) must confirm.
 */
import assert from 'node:assert/strict';
import type { Catalog, TableIdentifier } from '../../../../src/iceberg/catalog.js';
import { DataFileWriter } from '../../../../src/iceberg/data-file-writer.js';
import { appendFiles } from '../../../../src/iceberg/append-files.js';
import type { PartitionSpec, Schema } from '../../../../src/iceberg/schema.js';
import type { IcebergReadResult } from '../../../helpers/services.js';

export const ORDERS: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'order_id', required: true, type: 'long' },
    { id: 2, name: 'customer', required: false, type: 'string' },
    { id: 3, name: 'amount', required: false, type: 'decimal(12, 2)' },
    { id: 4, name: 'created_at', required: true, type: 'timestamptz' },
  ],
};

export const BY_DAY: PartitionSpec = {
  'spec-id': 0,
  fields: [{ 'source-id': 4, 'field-id': 1000, name: 'created_at_day', transform: 'day' }],
};

const DAY0 = Date.UTC(2024, 0, 15); // 19737 days since epoch

export interface ScenarioResult {
  readonly expectedIds: number[];
  readonly conflicts: number;
  readonly commits: number;
  readonly metadataLocation: string;
}

/** Runs `writers` concurrent writers, each committing `batches` appends of `rowsPerBatch` rows spread over 2 days. */
export async function runConcurrentWriters(
  catalogs: readonly Catalog[],
  id: TableIdentifier,
  options: { batches: number; rowsPerBatch: number; jobId: string },
): Promise<ScenarioResult> {
  const base = await catalogs[0]!.ensureTable(id, { schema: ORDERS, spec: BY_DAY, properties: {
      'write.parquet.compression-codec': 'zstd',
      // merge early so the reader also sees merged manifests (EXISTING entries, explicit sequence numbers)
      'commit.manifest.min-count-to-merge': '3',
    },
  });
  let conflicts = 0;
  let commits = 0;
  const expectedIds: number[] = [];
  await Promise.all(
    catalogs.map(async (catalog, w) => {
      const writer = new DataFileWriter({ schema: ORDERS, spec: BY_DAY, tableLocation: base.metadata.location, fileIO: catalog.fileIO });
      for (let b = 0; b < options.batches; b++) {
        const rows = Array.from({ length: options.rowsPerBatch }, (_, i) => {
          const orderId = (w * options.batches + b) * options.rowsPerBatch + i + 1;
          expectedIds.push(orderId);
          return {
            order_id: orderId,
            customer: i % 7 === 0 ? null : `customer-${orderId % 13}`,
            amount: `${(orderId % 1000) + 0.25}`,
            created_at: new Date(DAY0 + (i % 2) * 86_400_000 + i * 1000),
          };
        });
        const appended = await writer.append(rows);
        assert.equal(appended.rejected.length, 0, JSON.stringify(appended.rejected[0]));
        const files = await writer.flush();
        await appendFiles(catalog, id, files, {
          // Everyone's first attempt starts from the same base: at most one can win it.
          ...(b === 0 ? { base } : {}),
          baseDelayMs: 20,
          maxDelayMs: 500,
          maxAttempts: 30,
          onConflict: () => conflicts++,
          summary: {
            'streamline.job-id': options.jobId,
            'streamline.operator-id': `sink-${w}`,
            'streamline.checkpoint-id': String(b + 1),
            'streamline.fencing-token': String(w + 1),
          },
        });
        commits++;
      }
    }),
  );
  const finalTable = await catalogs[0]!.loadTable(id);
  return { expectedIds: expectedIds.sort((a, b) => a - b), conflicts, commits, metadataLocation: finalTable.metadataLocation };
}

/** What pyiceberg must see after the scenario. */
export function assertReadBack(read: IcebergReadResult, scenario: ScenarioResult, writers: number, jobId: string): void {
  assert.equal(read.formatVersion, 2);
  assert.deepEqual(
    read.schema.fields.map((f) => [f.id, f.name, f.type, f.required]),
    [
      [1, 'order_id', 'long', true],
      [2, 'customer', 'string', false],
      [3, 'amount', 'decimal(12, 2)', false],
      [4, 'created_at', 'timestamptz', true],
    ],
  );
  assert.deepEqual(read.partitionSpec.fields, [{ sourceId: 4, fieldId: 1000, name: 'created_at_day', transform: 'day' }]);
  assert.equal(read.rowCount, scenario.expectedIds.length);
  assert.deepEqual(read.column!.values, scenario.expectedIds, 'every id exactly once');
  assert.equal(read.snapshots.length, scenario.commits);
  assert.equal(read.lastSequenceNumber, scenario.commits);
  const seqs = read.snapshots.map((s) => s.sequenceNumber);
  assert.deepEqual(seqs, Array.from({ length: scenario.commits }, (_, i) => i + 1));
  const current = read.snapshots.find((s) => s.snapshotId === read.currentSnapshotId)!;
  assert.equal(current.summary['total-records'], String(scenario.expectedIds.length));
  assert.equal(current.summary['operation'], 'append');
  for (const s of read.snapshots) {
    assert.equal(s.summary['streamline.job-id'], jobId);
    assert.match(s.summary['streamline.operator-id']!, /^sink-\d+$/);
    assert.ok(Number(s.summary['added-records']) > 0);
  }
  assert.equal(new Set(read.snapshots.map((s) => s.summary['streamline.operator-id'])).size, writers);
  assert.ok(read.snapshots.some((s) => Number(s.summary['manifests-replaced']) > 0), 'manifests were merged along the way');
  // partition values: days since epoch of 2024-01-15 and 2024-01-16
  const days = new Set(read.files!.map((f) => f.partition['created_at_day']));
  assert.deepEqual([...days].sort(), [19737, 19738]);
  for (const f of read.files!) {
    assert.equal(f.format.toUpperCase(), 'PARQUET');
    assert.ok(f.columnsWithLowerBounds.includes('order_id'), 'column stats present');
    assert.ok(f.columnsWithNullCounts.includes('customer'));
  }
  assert.equal(read.files!.reduce((n, f) => n + f.recordCount, 0), scenario.expectedIds.length);
}
