/**
 * The counting job of the split tests: records of an in-memory topic, keyed by their key, a
 * running count per key (keyed state), one row per record in a real Iceberg table on a local
 * catalog — plus the checks: where the table's split map stands, and that every record is in
 * it once with per-key counts 1..n (nothing lost, nothing twice, no state reset).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import type { LocalCatalog } from '../../../../../src/iceberg/local-catalog.js';
import { decodeManifest, EntryStatus } from '../../../../../src/iceberg/manifest.js';
import { decodeManifestList } from '../../../../../src/iceberg/manifest-list.js';
import { required, tableSchema } from '../../../../../src/iceberg/schema-builder.js';
import { currentSnapshot } from '../../../../../src/iceberg/table-metadata.js';
import { keyedProcessOperator } from '../../../../../src/operators/keyed-process.js';
import { icebergSink } from '../../../../../src/operators/sinks/iceberg/iceberg-sink.js';
import { readSplitMap } from '../../../../../src/operators/sinks/iceberg/split-progress-summary.js';
import { Dataflow } from '../../../../../src/runtime/graph/dataflow.js';
import type { Source } from '../../../../../src/runtime/source.js';
import type { ValueState } from '../../../../../src/runtime/state/keyed-state-backend.js';
import type { InMemoryTopic, SplitRecord } from './in-memory-split-group.js';

export const COUNTS_TABLE = { namespace: 'sink', name: 'counts' };
export const countsTable = tableSchema({ split: required('string'), offset: required('long'), key: required('string'), count: required('long') });

export interface CountedRow {
  readonly split: string;
  readonly offset: number;
  readonly key: string;
  readonly count: number;
}

/** Running count per key: keyed state that must survive restores and follow its split. */
const countPerKey = () =>
  keyedProcessOperator<SplitRecord, CountedRow, ValueState<number>>({
    declareState: (backend) => backend.valueState<number>({ name: 'count' }),
    process(record, count, out) {
      const next = (count.get() ?? 0) + 1;
      count.set(next);
      out.emit({ split: record.split, offset: record.offset, key: record.key, count: next });
    },
  });

/** The job `counts`: source → keyBy(key) → count → Iceberg table `sink.counts`. */
export function countsFlow(source: Source<SplitRecord, unknown>, catalog: LocalCatalog): Dataflow {
  const flow = new Dataflow('counts');
  flow
    .source('input', source)
    .keyBy((r) => r.key)
    .apply('count', countPerKey)
    .sink('table', icebergSink<CountedRow>({ catalog: () => catalog, table: COUNTS_TABLE, schema: countsTable, toRow: (r) => ({ ...r, offset: BigInt(r.offset), count: BigInt(r.count) }) }));
  return flow;
}

/** The table's split map (what the job committed of each split). */
export async function splitMap(catalog: LocalCatalog): Promise<ReturnType<typeof readSplitMap>> {
  const table = await catalog.loadTable(COUNTS_TABLE).catch(() => undefined);
  return table === undefined ? new Map() : readSplitMap(table.metadata, 'counts', 'counts.table');
}

/** Resolves once the table's split map has every split at the topic's end. */
export async function committedAll(catalog: LocalCatalog, topic: InMemoryTopic): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const map = await splitMap(catalog);
    if (topic.splits.every((s) => map.get(s)?.position === topic.end(s))) return;
    if (Date.now() > deadline) throw new Error(`not committed: ${JSON.stringify([...map])}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every row of the table's current snapshot, read from its Parquet files. */
export async function tableRows(catalog: LocalCatalog): Promise<CountedRow[]> {
  const table = await catalog.loadTable(COUNTS_TABLE);
  const snapshot = currentSnapshot(table.metadata)!;
  const rows: CountedRow[] = [];
  for (const manifest of decodeManifestList(await catalog.fileIO.read(snapshot['manifest-list']))) {
    for (const entry of decodeManifest(await catalog.fileIO.read(manifest.manifestPath)).entries) {
      if (entry.status === EntryStatus.DELETED) continue;
      const bytes = await readFile(entry.dataFile.filePath.replace(/^file:\/\//, ''));
      const arrow = tableFromIPC(readParquet(bytes).intoIPCStream());
      for (const row of arrow.toArray() as { split: string; offset: bigint; key: string; count: bigint }[]) {
        rows.push({ split: row.split, offset: Number(row.offset), key: row.key, count: Number(row.count) });
      }
    }
  }
  return rows;
}

/** Every record exactly once, and per key the counts 1..n in offset order: nothing lost, nothing twice, no state reset. */
export async function assertExactlyOnce(catalog: LocalCatalog, topic: InMemoryTopic): Promise<void> {
  const rows = await tableRows(catalog);
  assert.equal(rows.length, topic.total, 'one row per record');
  const seen = new Set(rows.map((r) => `${r.split}@${r.offset}`));
  assert.equal(seen.size, topic.total, 'no record twice');
  const byKey = new Map<string, CountedRow[]>();
  for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
  for (const [key, keyed] of byKey) {
    keyed.sort((x, y) => x.offset - y.offset);
    assert.deepEqual(keyed.map((r) => r.count), keyed.map((_, i) => i + 1), `counts of ${key} continue across restores`);
  }
}
