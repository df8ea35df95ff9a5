import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataFileFromJson, dataFileToJson } from '../../../src/iceberg/data-file-json.js';
import type { DataFile } from '../../../src/iceberg/data-file.js';
import { sampleDataFile } from './support/sample-table.js';

test('DataFile survives JSON.stringify/parse via the serializer', () => {
  const file: DataFile = {
    ...sampleDataFile('s3://b/data/x.parquet', 19800, 77),
    partition: { day: 19800, id: 1n << 60n, bytes: new Uint8Array([0, 255]), s: 'x', b: false, nul: null, nan: NaN, inf: -Infinity },
    sortOrderId: 0,
  };
  const text = JSON.stringify(dataFileToJson(file));
  const back = dataFileFromJson(JSON.parse(text));
  assert.deepEqual(back, file);
  assert.ok(back.lowerBounds instanceof Map);
});

test('unknown versions are rejected', () => {
  const json = { ...dataFileToJson(sampleDataFile('a', 1, 1)), v: 2 };
  assert.throws(() => dataFileFromJson(json as never), /version 2/);
});
