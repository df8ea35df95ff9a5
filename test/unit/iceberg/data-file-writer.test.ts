import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { parquetMetadata } from 'hyparquet';
import { DataFileWriter } from '../../../src/iceberg/data-file-writer.js';
import { LocalFileIO } from '../../../src/iceberg/local-file-io.js';
import { deserializeSingleValue } from '../../../src/iceberg/single-value.js';
import type { PartitionSpec, Schema } from '../../../src/iceberg/schema.js';
import { withTempDir } from './support/temp-dir.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'order_id', required: true, type: 'string' },
    { id: 2, name: 'amount', required: true, type: 'decimal(12, 2)' },
    { id: 3, name: 'created_at', required: true, type: 'timestamptz' },
    { id: 4, name: 'ship_date', required: false, type: 'date' },
    { id: 5, name: 'weight', required: false, type: 'double' },
    { id: 6, name: 'customer', required: false, type: { type: 'struct', fields: [{ id: 7, name: 'name', required: false, type: 'string' }] } },
    { id: 8, name: 'items', required: false, type: { type: 'list', 'element-id': 9, element: 'int', 'element-required': false } },
  ],
};
const byDay: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'created_at_day', transform: 'day' }] };

const withDir = <T>(fn: (dir: string) => Promise<T>): Promise<T> => withTempDir('icedata-', fn);

for (const writeInWorker of [false, true]) {
const mode = writeInWorker ? 'worker' : 'inline';

test(`written Parquet carries field ids, round-trips values and yields correct stats (${mode})`, () =>
  withDir(async (dir) => {
    const io = new LocalFileIO();
    const tableLocation = pathToFileURL(join(dir, 'orders')).href;
    const writer = new DataFileWriter({ schema, spec: byDay, tableLocation, fileIO: io, writeInWorker });
    assert.equal(writer.writesInWorker, writeInWorker);
    const result = await writer.append([
      { order_id: 'o-2', amount: '19.99', created_at: '2024-01-05T10:00:00.000001Z', ship_date: '2024-01-07', weight: 1.5, customer: { name: 'Ann' }, items: [1, null, 3] },
      { order_id: 'o-1', amount: -5, created_at: new Date('2024-01-05T23:59:59Z'), ship_date: null, weight: NaN, customer: null, items: null },
      { order_id: 'o-3', amount: '1234567890.12', created_at: '2024-01-06T00:00:00Z', weight: null, customer: { name: null }, items: [] },
      { order_id: 'bad', amount: 'x', created_at: '2024-01-06T00:00:00Z' },
      { order_id: 'bad2', amount: '1', created_at: 'not a time' },
    ]);
    assert.equal(result.accepted, 3);
    assert.deepEqual(result.rejected.map((r) => r.index), [3, 4]);
    assert.match(result.rejected[1]!.reason, /^partition source: /);

    const files = await writer.flush();
    assert.equal(files.length, 2);
    const jan5 = files.find((f) => f.partition.created_at_day === 19727)!;
    const jan6 = files.find((f) => f.partition.created_at_day === 19728)!;
    assert.ok(jan5 && jan6);
    assert.match(jan5.filePath, /\/orders\/data\/created_at_day=2024-01-05\/[0-9a-f-]{36}\.parquet$/);
    assert.equal(jan5.recordCount, 2);
    assert.equal(await writer.flush().then((f) => f.length), 0);
    await writer.close();

    const bytes = await io.read(jan5.filePath);
    assert.equal(jan5.fileSizeInBytes, bytes.length);
    // Field ids in the footer, nested children included.
    const meta = parquetMetadata(bytes);
    const ids = Object.fromEntries(meta.schema.slice(1).map((e) => [e.name, e.field_id]));
    assert.deepEqual(ids, { order_id: 1, amount: 2, created_at: 3, ship_date: 4, weight: 5, customer: 6, name: 7, items: 8, list: undefined, element: 9 });
    assert.equal(meta.row_groups[0]!.columns[0]!.meta_data!.codec, 'ZSTD');

    // Values round trip (read back with parquet-wasm + apache-arrow).
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    const createdAt = table.getChild('created_at')!;
    assert.equal(String(createdAt.type), 'Timestamp<MICROSECOND, UTC>');
    assert.deepEqual([...(createdAt.data[0]!.values as BigInt64Array)], [1704448800000001n, 1704499199000000n]);
    const amount = table.getChild('amount')!.data[0]!.values as Uint32Array;
    assert.equal(amount[0], 1999);
    assert.equal(amount[4] | 0, -500);
    assert.equal(table.getChild('ship_date')!.get(0)!.valueOf(), Date.UTC(2024, 0, 7));
    assert.equal(table.getChild('ship_date')!.get(1), null);
    assert.deepEqual(table.toArray().map((r) => r.order_id), ['o-2', 'o-1']);
    assert.deepEqual([...table.getChild('items')!.get(0)!], [1, null, 3]);

    // Stats keyed by field id, bounds in single-value form.
    assert.equal(jan5.valueCounts.get(1), 2);
    assert.equal(jan5.nullValueCounts.get(4), 1);
    assert.equal(jan5.nanValueCounts.get(5), 1);
    assert.equal(deserializeSingleValue('string', jan5.lowerBounds.get(1)!), 'o-1');
    assert.equal(deserializeSingleValue('string', jan5.upperBounds.get(1)!), 'o-2');
    assert.equal(deserializeSingleValue('decimal(12, 2)', jan5.lowerBounds.get(2)!), -500n);
    assert.equal(deserializeSingleValue('decimal(12, 2)', jan5.upperBounds.get(2)!), 1999n);
    assert.equal(deserializeSingleValue('timestamptz', jan5.lowerBounds.get(3)!), 1704448800000001n);
    assert.equal(deserializeSingleValue('timestamptz', jan5.upperBounds.get(3)!), 1704499199000000n);
    assert.equal(deserializeSingleValue('date', jan5.lowerBounds.get(4)!), 19729);
    assert.equal(deserializeSingleValue('double', jan5.upperBounds.get(5)!), 1.5);
    assert.equal(deserializeSingleValue('string', jan5.lowerBounds.get(7)!), 'Ann');
    assert.equal(jan5.lowerBounds.has(9), false, 'no bounds for list elements');
    assert.ok(jan5.columnSizes.get(1)! > 0);
    assert.deepEqual(jan5.splitOffsets, [4]);
    assert.equal(deserializeSingleValue('decimal(12, 2)', jan6.upperBounds.get(2)!), 123456789012n);
    assert.equal(jan6.nullValueCounts.get(5), 1);
    assert.equal(jan6.lowerBounds.has(5), false, 'all-null column has no bounds');
  }));

test(`rolling by target size produces several files holding every row once (${mode})`, () =>
  withDir(async (dir) => {
    const io = new LocalFileIO();
    const writer = new DataFileWriter({
      schema,
      tableLocation: join(dir, 't'),
      fileIO: io,
      targetFileSizeBytes: 16 * 1024,
      batchRows: 500,
      parquet: { codec: 'SNAPPY', rowGroupRows: 1000 },
      writeInWorker,
    });
    const n = 20_000;
    for (let start = 0; start < n; start += 1000) {
      const rows = Array.from({ length: 1000 }, (_, k) => ({
        order_id: `order-${start + k}-${Math.random().toString(36).slice(2)}`,
        amount: ((start + k) % 10_000) / 100,
        created_at: 1704448800000 + (start + k) * 1000,
      }));
      const r = await writer.append(rows);
      assert.equal(r.rejected.length, 0);
    }
    const files = await writer.flush();
    assert.ok(files.length >= 3, `expected several files, got ${files.length}`);
    assert.equal(files.reduce((s, f) => s + f.recordCount, 0), n);
    assert.equal(new Set(files.map((f) => f.filePath)).size, files.length);
    const onDisk = await readdir(join(dir, 't', 'data'));
    assert.deepEqual(onDisk.sort(), files.map((f) => f.filePath.split('/').pop()!).sort(), 'no temp files left behind');
    const ids = new Set<string>();
    for (const f of files) {
      const table = tableFromIPC(readParquet(await io.read(f.filePath)).intoIPCStream());
      assert.equal(table.numRows, f.recordCount);
      for (const id of table.getChild('order_id')!) ids.add(id as string);
      const meta = parquetMetadata(await io.read(f.filePath));
      assert.equal(f.splitOffsets.length, meta.row_groups.length);
    }
    assert.equal(ids.size, n);
    await writer.close();
  }));
}
