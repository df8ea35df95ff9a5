import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur3Bytes, murmur3Long, murmur3String } from '../../../src/iceberg/murmur3.js';
import { toEpochDays, toEpochMicros, toUuidBytes } from '../../../src/iceberg/row-value-coercion.js';
import { bigIntToMinimalBytes } from '../../../src/iceberg/single-value.js';

// Spec Appendix B, "32-bit Hash Requirements" test vectors.
test('int and long hash as 8-byte little-endian longs', () => {
  assert.equal(murmur3Long(34), 2017239379);
  assert.equal(murmur3Long(34n), 2017239379);
});

test('decimal 14.20 hashes its minimal big-endian unscaled bytes', () => {
  assert.equal(murmur3Bytes(bigIntToMinimalBytes(1420n)), -500754589);
});

test('date, time, timestamp and timestamptz vectors', () => {
  assert.equal(murmur3Long(toEpochDays('2017-11-16')), -653330422);
  assert.equal(murmur3Long(((22 * 3600 + 31 * 60 + 8) * 1_000_000)), -662762989);
  assert.equal(murmur3Long(toEpochMicros('2017-11-16T22:31:08')), -2047944441);
  assert.equal(murmur3Long(toEpochMicros('2017-11-16T14:31:08-08:00')), -2047944441);
});

test('string, uuid and binary vectors', () => {
  assert.equal(murmur3String('iceberg'), 1210000089);
  assert.equal(murmur3Bytes(toUuidBytes('f79c3e09-677c-4bbd-a479-3f349cb785e7')), 1488055340);
  assert.equal(murmur3Bytes(Uint8Array.of(0, 1, 2, 3)), -188683207);
});

test('long hashing of large and negative values agrees between number and bigint paths', () => {
  for (const v of [-1, -34, 2 ** 40 + 7, -(2 ** 52) + 3, Number.MAX_SAFE_INTEGER]) {
    assert.equal(murmur3Long(v), murmur3Long(BigInt(v)), String(v));
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, BigInt(v), true);
    assert.equal(murmur3Long(v), murmur3Bytes(bytes), String(v));
  }
});
