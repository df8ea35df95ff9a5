import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataFileWriter } from '../../../../src/iceberg/data-file-writer.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { readDataFileRows } from '../../../../src/iceberg/maintenance/data-file-rows.js';
import type { Schema } from '../../../../src/iceberg/schema.js';

const V1: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'count', required: false, type: 'int' },
    { id: 3, name: 'ratio', required: false, type: 'float' },
    { id: 4, name: 'amount', required: true, type: 'decimal(10, 2)' },
    { id: 5, name: 'at', required: true, type: 'timestamptz' },
    { id: 6, name: 'day', required: false, type: 'date' },
    { id: 7, name: 'uid', required: false, type: 'uuid' },
    { id: 8, name: 'tags', required: false, type: { type: 'list', 'element-id': 9, element: 'string', 'element-required': false } },
    { id: 10, name: 'attrs', required: false, type: { type: 'map', 'key-id': 11, key: 'string', 'value-id': 12, value: 'int', 'value-required': false } },
    { id: 13, name: 'geo', required: false, type: { type: 'struct', fields: [{ id: 14, name: 'lat', required: false, type: 'double' }] } },
  ],
};

/** The same table after evolution: promotions, a column renamed by an Iceberg tool (same id), new columns. */
const V2: Schema = {
  type: 'struct',
  'schema-id': 1,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'count', required: false, type: 'long' },
    { id: 3, name: 'ratio', required: false, type: 'double' },
    { id: 4, name: 'amount', required: true, type: 'decimal(14, 2)' },
    { id: 5, name: 'at', required: true, type: 'timestamptz' },
    { id: 6, name: 'event_day', required: false, type: 'date' },
    { id: 7, name: 'uid', required: false, type: 'uuid' },
    { id: 8, name: 'tags', required: false, type: { type: 'list', 'element-id': 9, element: 'string', 'element-required': false } },
    { id: 10, name: 'attrs', required: false, type: { type: 'map', 'key-id': 11, key: 'string', 'value-id': 12, value: 'long', 'value-required': false } },
    { id: 13, name: 'geo', required: false, type: { type: 'struct', fields: [{ id: 14, name: 'lat', required: false, type: 'double' }, { id: 16, name: 'lon', required: false, type: 'double' }] } },
    { id: 15, name: 'note', required: false, type: 'string' },
  ],
};

const UUID = '123e4567-e89b-12d3-a456-426614174000';
const UUID_BYTES = Uint8Array.from(Buffer.from(UUID.replaceAll('-', ''), 'hex'));

test('a data file reads back as rows of the evolved schema: by field id, widened, nulls for newer columns, exact micros and decimals', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rows-'));
  try {
    const io = new LocalFileIO();
    const writer = new DataFileWriter({ schema: V1, tableLocation: pathToFileURL(dir).href, fileIO: io, writeInWorker: false });
    await writer.append([
      { id: 1, count: 7, ratio: 0.5, amount: '12345678.91', at: 1_700_000_000_123_456n, day: '2024-02-29', uid: UUID, tags: ['a', null], attrs: new Map([['k', 3]]), geo: { lat: 48.1 } },
      { id: 2, count: null, ratio: null, amount: '-0.05', at: 0n, day: null, uid: null, tags: null, attrs: null, geo: null },
    ]);
    const [file] = await writer.flush();
    await writer.close();
    const rows = [];
    for await (const batch of readDataFileRows(io, file!.filePath, V2)) rows.push(...batch);
    assert.deepEqual(rows, [
      {
        id: 1n,
        count: 7,
        ratio: 0.5,
        amount: 1234567891n,
        at: 1_700_000_000_123_456n,
        event_day: 19782,
        uid: UUID_BYTES,
        tags: ['a', null],
        attrs: new Map([['k', 3]]),
        geo: { lat: 48.1, lon: null },
        note: null,
      },
      { id: 2n, count: null, ratio: null, amount: -5n, at: 0n, event_day: null, uid: null, tags: null, attrs: null, geo: null, note: null },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
