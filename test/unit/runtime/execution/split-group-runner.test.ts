/**
 * The group-mode hand-over protocol in one process: two instances (SplitGroupRunners) share four
 * splits of an in-memory topic, count records per key (keyed state) and commit to one real
 * Iceberg table on a local catalog. Splits move back and forth between them; a zombie keeps
 * running on splits it lost. Whatever happens, every record is in the table exactly once and
 * every key's count continues without a gap — its state moved with its split.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { decodeManifest, EntryStatus } from '../../../../src/iceberg/manifest.js';
import { decodeManifestList } from '../../../../src/iceberg/manifest-list.js';
import { required, tableSchema } from '../../../../src/iceberg/schema-builder.js';
import { currentSnapshot } from '../../../../src/iceberg/table-metadata.js';
import { keyedProcessOperator } from '../../../../src/operators/keyed-process.js';
import { icebergSink } from '../../../../src/operators/sinks/iceberg/iceberg-sink.js';
import { readSplitMap } from '../../../../src/operators/sinks/iceberg/split-progress-summary.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { SplitGroupRunner } from '../../../../src/runtime/execution/split-group-runner.js';
import { Dataflow } from '../../../../src/runtime/graph/dataflow.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { HeapKeyedStateBackend } from '../../../../src/runtime/state/heap-keyed-state-backend.js';
import type { ValueState } from '../../../../src/runtime/state/keyed-state-backend.js';
import { FakeGroupCoordinator, InMemoryTopic, inMemorySplitSource, type SplitRecord } from './support/in-memory-split-group.js';

const TABLE = { namespace: 'sink', name: 'counts' };
const countsTable = tableSchema({ split: required('string'), offset: required('long'), key: required('string'), count: required('long') });

interface CountedRow {
  readonly split: string;
  readonly offset: number;
  readonly key: string;
  readonly count: number;
}

/** Running count per key: keyed state that must follow its split from instance to instance. */
const countPerKey = () =>
  keyedProcessOperator<SplitRecord, CountedRow, ValueState<number>>({
    declareState: (backend) => backend.valueState<number>({ name: 'count' }),
    process(record, count, out) {
      const next = (count.get() ?? 0) + 1;
      count.set(next);
      out.emit({ split: record.split, offset: record.offset, key: record.key, count: next });
    },
  });

describe('SplitGroupRunner: splits move between instances exactly once, with their state', () => {
  let dir: string;
  let catalog: LocalCatalog;
  let store: LocalCheckpointStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'split-group-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const setUp = (name: string) => {
    catalog = new LocalCatalog({ warehouse: join(dir, name, 'warehouse'), fileIO: new LocalFileIO() });
    store = new LocalCheckpointStore(join(dir, name, 'checkpoints'));
    return { topic: new InMemoryTopic(4), coordinator: new FakeGroupCoordinator() };
  };

  const instance = (name: string, topic: InMemoryTopic, coordinator: FakeGroupCoordinator) => {
    const metrics = new MetricsRegistry();
    const flow = new Dataflow('counts');
    flow
      .source('input', inMemorySplitSource(topic, coordinator.member(name)))
      .keyBy((r) => r.key)
      .apply('count', countPerKey)
      .sink('table', icebergSink<CountedRow>({ catalog: () => catalog, table: TABLE, schema: countsTable, toRow: (r) => ({ ...r, offset: BigInt(r.offset), count: BigInt(r.count) }) }));
    const runner = new SplitGroupRunner({
      flow,
      store,
      checkpoint: { intervalMs: 20, retain: 2 },
      metrics,
      logger: silentLogger(),
      deadLetters: new FileDeadLetterSink(join(dir, `${name}-dead-letters.jsonl`)),
      createKeyedState: () => new HeapKeyedStateBackend(),
      instanceId: name,
      retryDelayMs: 50,
    });
    const done = runner.run();
    done.catch(() => undefined);
    return { runner, done, metrics };
  };

  /** Resolves once the table's split map has every split at the topic's end. */
  const committedAll = async (topic: InMemoryTopic) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const table = await catalog.loadTable(TABLE).catch(() => undefined);
      const map = table === undefined ? new Map() : readSplitMap(table.metadata, 'counts', 'counts.table');
      if (topic.splits.every((s) => map.get(s)?.position === topic.end(s))) return;
      if (Date.now() > deadline) throw new Error(`not committed: ${JSON.stringify([...map])}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  /** Every row of the table's current snapshot, read from its Parquet files. */
  const tableRows = async (): Promise<CountedRow[]> => {
    const table = await catalog.loadTable(TABLE);
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
  };

  /** Every record exactly once, and per key the counts 1..n in offset order: nothing lost, nothing twice, no state reset. */
  const assertExactlyOnce = async (topic: InMemoryTopic) => {
    const rows = await tableRows();
    assert.equal(rows.length, topic.total, 'one row per record');
    const seen = new Set(rows.map((r) => `${r.split}@${r.offset}`));
    assert.equal(seen.size, topic.total, 'no record twice');
    const byKey = new Map<string, CountedRow[]>();
    for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
    for (const [key, keyed] of byKey) {
      keyed.sort((x, y) => x.offset - y.offset);
      assert.deepEqual(keyed.map((r) => r.count), keyed.map((_, i) => i + 1), `counts of ${key} continue across hand-overs`);
    }
  };

  it('hands splits over on every rebalance: the next owner continues each split and its keyed state', { timeout: 60_000 }, async () => {
    const { topic, coordinator } = setUp('hand-over');
    const a = instance('a', topic, coordinator);
    const b = instance('b', topic, coordinator);
    const all = topic.splits;
    const plans = [
      { a: all, b: [] },
      { a: [all[0]!, all[1]!], b: [all[2]!, all[3]!] },
      { a: [], b: all },
      { a: [all[3]!], b: [all[0]!, all[1]!, all[2]!] },
      { a: all, b: [] },
    ];
    for (const plan of plans) {
      await coordinator.rebalance(plan);
      topic.append(120);
      await committedAll(topic);
    }
    await a.runner.stop();
    await b.runner.stop();
    await Promise.all([a.done, b.done]);
    await assertExactlyOnce(topic);
    assert.ok(coordinator.member('a').left && coordinator.member('b').left, 'both left the group when stopped');
    const restores = async (m: MetricsRegistry) => (await m.restores.get()).values.reduce((n, v) => n + v.value, 0);
    assert.ok((await restores(a.metrics)) >= 2 && (await restores(b.metrics)) >= 2, 'each instance restored splits from the table');
  });

  it('a zombie that missed a rebalance is refused when it commits splits another instance took; it restarts from the table', { timeout: 60_000 }, async () => {
    const { topic, coordinator } = setUp('zombie');
    const a = instance('a', topic, coordinator);
    const b = instance('b', topic, coordinator);
    await coordinator.rebalance({ a: topic.splits, b: [] });
    topic.append(100);
    await committedAll(topic);

    // b takes everything while a never hears of it: both read and try to commit the same splits.
    await coordinator.rebalance({ b: topic.splits }, ['a']);
    for (let i = 0; i < 5; i++) {
      topic.append(40);
      await committedAll(topic);
    }
    const fenced = async () => (await a.metrics.fencedCommits.get()).values.find((v) => v.labels.kind === 'iceberg')?.value ?? 0;
    const restarts = async (m: MetricsRegistry) => (await m.runRestarts.get()).values.reduce((n, v) => n + v.value, 0);
    const fencedB = (await b.metrics.fencedCommits.get()).values.find((v) => v.labels.kind === 'iceberg')?.value ?? 0;
    assert.ok((await fenced()) + fencedB > 0, 'the loser of each race is refused');
    assert.ok((await restarts(a.metrics)) + (await restarts(b.metrics)) > 0, 'a refused run starts again from the table');

    // a finally learns it lost the splits.
    await coordinator.rebalance({ a: [], b: topic.splits });
    topic.append(100);
    await committedAll(topic);
    await a.runner.stop();
    await b.runner.stop();
    await Promise.all([a.done, b.done]);
    await assertExactlyOnce(topic);
  });
});
