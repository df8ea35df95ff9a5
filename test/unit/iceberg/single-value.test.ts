import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserializeSingleValue, serializeSingleValue, truncateLowerBound, truncateUpperBound } from '../../../src/iceberg/single-value.js';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);
const utf8 = (s: string) => new TextEncoder().encode(s);

test('primitive encodings follow Appendix D', () => {
  assert.equal(hex(serializeSingleValue('boolean', true)), '01');
  assert.equal(hex(serializeSingleValue('int', -2)), 'feffffff');
  assert.equal(hex(serializeSingleValue('long', 1n)), '0100000000000000');
  assert.equal(hex(serializeSingleValue('date', '1970-01-02')), '01000000');
  assert.equal(hex(serializeSingleValue('timestamptz', '1970-01-01T00:00:00.000001Z')), '0100000000000000');
  assert.equal(hex(serializeSingleValue('double', 1)), '000000000000f03f');
  assert.equal(hex(serializeSingleValue('decimal(9, 2)', '14.20')), '058c');
  assert.equal(hex(serializeSingleValue('decimal(9, 2)', '-1.28')), '80');
  assert.equal(hex(serializeSingleValue('decimal(9, 2)', '1.28')), '0080');
  assert.equal(hex(serializeSingleValue('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7')), 'f79c3e09677c4bbda4793f349cb785e7');
});

test('values round trip through serialize/deserialize', () => {
  assert.equal(deserializeSingleValue('int', serializeSingleValue('int', 123456)), 123456);
  assert.equal(deserializeSingleValue('long', serializeSingleValue('long', 2n ** 62n)), 2n ** 62n);
  assert.equal(deserializeSingleValue('decimal(20, 4)', serializeSingleValue('decimal(20, 4)', '-123456789012345.6789')), -1234567890123456789n);
  assert.equal(deserializeSingleValue('string', serializeSingleValue('string', 'héllo')), 'héllo');
  assert.equal(deserializeSingleValue('uuid', serializeSingleValue('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7')), 'f79c3e09-677c-4bbd-a479-3f349cb785e7');
  assert.equal(deserializeSingleValue('timestamptz', serializeSingleValue('timestamptz', new Date('2024-01-05T00:00:00Z'))), 1704412800000000n);
});

test('string bounds truncate to 16 code points; the upper bound is rounded up', () => {
  const long = 'abcdefghijklmnopqrstuvwxyz';
  assert.equal(new TextDecoder().decode(truncateLowerBound('string', utf8(long))), 'abcdefghijklmnop');
  assert.equal(new TextDecoder().decode(truncateUpperBound('string', utf8(long))!), 'abcdefghijklmnoq');
  // Short values stay exact.
  assert.equal(hex(truncateUpperBound('string', utf8('abc'))), hex(utf8('abc')));
  // Multi-byte code points count as one each and are never split.
  const accents = 'é'.repeat(20);
  assert.equal(new TextDecoder().decode(truncateLowerBound('string', utf8(accents))), 'é'.repeat(16));
  assert.equal(new TextDecoder().decode(truncateUpperBound('string', utf8(accents))!), 'é'.repeat(15) + 'ê');
  // The max code point cannot be incremented: carry to the previous one.
  const maxed = 'a'.repeat(15) + '\u{10FFFF}' + 'zz';
  assert.equal(new TextDecoder().decode(truncateUpperBound('string', utf8(maxed))!), 'a'.repeat(14) + 'b');
  // Incrementing into the surrogate range skips it.
  const beforeSurrogates = 'a'.repeat(15) + '\uD7FF' + 'z';
  assert.equal(truncateUpperBound('string', utf8(beforeSurrogates))!.length, 15 + 3);
  assert.equal(new TextDecoder().decode(truncateUpperBound('string', utf8(beforeSurrogates))!).codePointAt(15), 0xe000);
});

test('binary upper bound carries over 0xff and may not exist', () => {
  const b = new Uint8Array(20).fill(1);
  b[15] = 0xff;
  assert.equal(hex(truncateUpperBound('binary', b)), '0101010101010101010101010101' + '02');
  assert.equal(truncateUpperBound('binary', new Uint8Array(20).fill(0xff)), undefined);
  assert.equal(truncateLowerBound('binary', b).length, 16);
});
