import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import avro from 'avsc';
import { encodeAvroContainer } from '../../../src/iceberg/avro/container-writer.js';
import { decodeAvroContainer, AvroContainerError } from '../../../src/iceberg/avro/container-reader.js';
import { bigintLongType } from '../../../src/iceberg/avro/bigint-long-type.js';

const SCHEMA = {
  type: 'record',
  name: 'sample',
  fields: [
    { name: 'id', type: 'long', 'field-id': 1 },
    { name: 'maybe', type: ['null', 'long'], default: null, 'field-id': 2 },
    { name: 'list', type: { type: 'array', items: 'long', 'element-id': 4 }, 'field-id': 3 },
    {
      name: 'counts',
      type: { type: 'array', logicalType: 'map', items: { type: 'record', name: 'k6_v7', fields: [{ name: 'key', type: 'int', 'field-id': 6 }, { name: 'value', type: 'bytes', 'field-id': 7 }] } },
      'field-id': 5,
    },
  ],
};

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)));

function records(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: (1n << 62n) + BigInt(i), // beyond 2^53: must survive exactly
    maybe: i % 2 ? null : -BigInt(i) - 9007199254740993n,
    list: [BigInt(i), 2n],
    counts: [{ key: i, value: Buffer.from([i & 0xff, 1]) }],
  }));
}

for (const codec of ['null', 'deflate'] as const) {
  test(`round trip (${codec}) keeps 63-bit longs, nulls, maps, across blocks`, () => {
    const input = records(25);
    const bytes = encodeAvroContainer(SCHEMA, input, { codec, blockSize: 10, metadata: { 'format-version': '2' } });
    const out = decodeAvroContainer(bytes);
    assert.deepEqual(plain(out.records), plain(input));
    assert.equal(out.metadata['avro.codec'], codec);
    assert.equal(out.metadata['format-version'], '2');
  });
}

test('header keeps the raw schema with field-id and element-id attributes', () => {
  const bytes = encodeAvroContainer(SCHEMA, records(1));
  const { schema } = decodeAvroContainer(bytes);
  assert.deepEqual(schema, SCHEMA);
  const text = Buffer.from(bytes).toString('latin1');
  assert.match(text, /"element-id":4/);
  assert.match(text, /"field-id":7/);
});

test('avsc BlockDecoder (independent reader) reads the file', async () => {
  const input = records(12);
  const bytes = encodeAvroContainer(SCHEMA, input, { blockSize: 5 });
  let header: Record<string, unknown> | undefined;
  const decoder = new avro.streams.BlockDecoder({
    parseHook: (s: unknown) => {
      header = s as Record<string, unknown>;
      return avro.Type.forSchema(s as avro.Schema, { registry: { long: bigintLongType } });
    },
  });
  const got: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (r: unknown) => got.push(r)).on('end', resolve).on('error', reject);
    Readable.from([Buffer.from(bytes)]).pipe(decoder);
  });
  assert.deepEqual(plain(got), plain(input));
  assert.deepEqual(header, SCHEMA);
});

test('rejects corrupt files', () => {
  assert.throws(() => decodeAvroContainer(new Uint8Array([1, 2, 3, 4, 5])), AvroContainerError);
  const bytes = encodeAvroContainer(SCHEMA, records(3), { codec: 'null' });
  const broken = bytes.slice(0, bytes.length - 3);
  assert.throws(() => decodeAvroContainer(broken), AvroContainerError);
});
