import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CheckpointMetadata } from '../../../../src/runtime/checkpoint-store.js';
import { decodeMetadata, encodeMetadata, validateMetadata } from '../../../../src/runtime/checkpoint/metadata-codec.js';
import { sha256Hex } from '../../../../src/runtime/checkpoint/state-checksum.js';
import { CorruptCheckpointError } from '../../../../src/errors.js';

const metadata: CheckpointMetadata = {
  formatVersion: 1,
  jobName: 'orders',
  checkpointId: 12,
  triggeredAt: 1000,
  completedAt: 1500,
  operators: {
    'orders.source': { name: 'orders.source.state', bytes: 3, sha256: sha256Hex('abc') },
    'orders.dedup': { name: 'orders.dedup.state', bytes: 0, sha256: sha256Hex('') },
  },
  fencingToken: '42',
};
const expected = { jobName: 'orders', checkpointId: 12, location: '/tmp/orders/chk-12' };

test('metadata round-trips and the encoding does not depend on key order', () => {
  assert.deepEqual(decodeMetadata(encodeMetadata(metadata), expected), metadata);
  const reordered = { ...metadata, operators: { 'orders.dedup': metadata.operators['orders.dedup']!, 'orders.source': metadata.operators['orders.source']! } };
  assert.deepEqual(encodeMetadata(reordered), encodeMetadata(metadata));
});

test('every kind of damage is a CorruptCheckpointError naming the checkpoint', () => {
  const good = JSON.parse(new TextDecoder().decode(encodeMetadata(metadata))) as Record<string, unknown>;
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(), /not valid JSON/],
    ['binary', new Uint8Array([0xff, 0xfe, 0x00]), /not valid JSON/],
    ['wrong version', encode({ ...good, formatVersion: 3 }), /formatVersion/],
    ['bad shared file', encode({ ...good, sharedState: [{ scope: 'orders', name: 'x' }] }), /sharedState/],
    ['bad hash', encode({ ...good, operators: { x: { name: 'x', bytes: 1, sha256: 'nothex' } } }), /operators\.x\.sha256/],
    ['edited field', encode({ ...good, completedAt: 1501 }), /checksum mismatch/],
    ['unknown field', encode({ ...good, extra: true }), /_metadata field/],
    ['other checkpoint', encodeMetadata({ ...metadata, checkpointId: 11 }), /describes checkpoint 11/],
  ];
  for (const [label, bytes, pattern] of cases) {
    assert.throws(() => decodeMetadata(bytes, expected), (err: unknown) => {
      assert.ok(err instanceof CorruptCheckpointError, label);
      assert.match(err.message, /checkpoint 12 of job 'orders' \(\/tmp\/orders\/chk-12\)/, label);
      assert.match(err.message, pattern, label);
      return true;
    });
  }
});

test('validateMetadata refuses malformed metadata before it is written', () => {
  validateMetadata(metadata);
  assert.throws(() => validateMetadata({ ...metadata, fencingToken: 'abc' }), CorruptCheckpointError);
  assert.throws(() => validateMetadata({ ...metadata, checkpointId: 1.5 }), CorruptCheckpointError);
});

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
