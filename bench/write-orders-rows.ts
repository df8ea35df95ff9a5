/**
 * Child process of the writer-memory bench: writes `--rows` orders rows (partitioned by day, a
 * flush every `--flush-every` rows, as a checkpoint would) through a DataFileWriter with the
 * given target file size, and prints `{ rows, files, bytes, maxBufferedBytes, seconds }` as JSON.
 * The parent reads this process's peak RSS from /proc.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DataFileWriter } from '../src/iceberg/data-file-writer.js';
import { LocalFileIO } from '../src/iceberg/local-file-io.js';
import type { PartitionSpec } from '../src/iceberg/schema.js';
import { ordersRows, ordersSchema } from './orders-rows.js';

const { values } = parseArgs({ options: { rows: { type: 'string' }, target: { type: 'string' }, 'flush-every': { type: 'string' } } });
const rows = Number(values.rows);
const flushEvery = Number(values['flush-every']);
const byDay: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 6, 'field-id': 1000, name: 'created_at_day', transform: 'day' }] };
const CHUNK = 5_000;

const dir = await mkdtemp(join(tmpdir(), 'write-orders-rows-'));
const writer = new DataFileWriter({ schema: ordersSchema, spec: byDay, tableLocation: dir, fileIO: new LocalFileIO(), targetFileSizeBytes: Number(values.target) });
const sample = ordersRows(CHUNK);
let files = 0;
let bytes = 0;
let maxBufferedBytes = 0;
const t0 = performance.now();
for (let start = 0; start < rows; start += CHUNK) {
  // Fresh row objects per chunk (as parsed records would be), created_at advancing 250 ms a row.
  const chunk = sample.map((r, k) => ({ ...r, order_id: `${r.order_id as string}-${start}`, created_at: new Date(Date.UTC(2024, 0, 5) + (start + k) * 250).toISOString() }));
  await writer.append(chunk);
  maxBufferedBytes = Math.max(maxBufferedBytes, writer.bufferedBytes);
  if ((start + CHUNK) % flushEvery === 0 || start + CHUNK >= rows) {
    for (const f of await writer.flush()) (files++, (bytes += f.fileSizeInBytes));
  }
}
const seconds = (performance.now() - t0) / 1000;
await writer.close();
await rm(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ rows, files, bytes, maxBufferedBytes, seconds })}\n`);
