import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey, hashUtf8, instanceForKeyGroup, keyGroupFor, keyGroupRange } from '../../../../src/runtime/state/key-group.js';
import { fmix32, mulberry32 } from '../../../../src/runtime/random.js';

/** Independent reference: FNV-1a 32 over TextEncoder's UTF-8, then fmix32. */
function referenceHash(key: string | number): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(String(key))) h = Math.imul(h ^ b, 0x01000193);
  return fmix32(h >>> 0);
}

test('hashKey matches FNV-1a over UTF-8 (+fmix32) for ASCII, accents, CJK, astral and lone surrogates', () => {
  const random = mulberry32(1);
  const keys: (string | number)[] = ['', 'a', 'user-42', 'héllo wörld', '日本語', '😀x', 'a\ud800b', '\udc00', 0, 42, -1.5, 1e21];
  for (let i = 0; i < 500; i++) {
    let s = '';
    const len = Math.floor(random() * 12);
    for (let j = 0; j < len; j++) s += String.fromCharCode(Math.floor(random() * 0xffff));
    keys.push(s);
  }
  for (const k of keys) assert.equal(hashKey(k), referenceHash(k), `key ${JSON.stringify(k)}`);
});

test('hashUtf8 of a string key\'s UTF-8 bytes is its hashKey, also inside a larger buffer', () => {
  const random = mulberry32(2);
  const keys: string[] = ['', 'a', 'o-000123456', 'héllo wörld', '日本語', '😀x', 'a\ud800b', '\udc00', 'x\udbff'];
  for (let i = 0; i < 500; i++) {
    let s = '';
    const len = Math.floor(random() * 12);
    for (let j = 0; j < len; j++) s += String.fromCharCode(Math.floor(random() * 0xffff));
    keys.push(s);
  }
  for (const k of keys) {
    // As a changelog holds it: UTF-8 written by Buffer (lone surrogates become U+FFFD), between other bytes.
    const bytes = Buffer.concat([Buffer.from([0xff, 0x00]), Buffer.from(k, 'utf8'), Buffer.from([0x7f])]);
    assert.equal(hashUtf8(bytes, 2, bytes.length - 1), referenceHash(k), `key ${JSON.stringify(k)}`);
  }
});

test('hash values are pinned: they are part of the checkpoint format and must never change', () => {
  assert.equal(hashKey(''), 2872998923);
  assert.equal(hashKey('user-42'), 2083131798);
  assert.equal(hashKey('日本語'), 3932500114);
  assert.equal(hashKey(42), 686566589);
  assert.equal(keyGroupFor('a'), 51);
  assert.equal(keyGroupFor('😀x'), 14);
});

test('numbers hash as their decimal string', () => {
  assert.equal(hashKey(7), hashKey('7'));
  assert.equal(keyGroupFor(123456, 64), keyGroupFor('123456', 64));
});

test('key groups spread evenly over 128 groups', () => {
  const counts = new Array<number>(128).fill(0);
  for (let i = 0; i < 128_000; i++) counts[keyGroupFor(`order-${i}`)]! += 1;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `group count ${c}`);
});

test('keyGroupRange splits like Flink (128 groups over 3 instances)', () => {
  assert.deepEqual(keyGroupRange(0, 3, 128), { start: 0, end: 42 });
  assert.deepEqual(keyGroupRange(1, 3, 128), { start: 43, end: 85 });
  assert.deepEqual(keyGroupRange(2, 3, 128), { start: 86, end: 127 });
});

test('ranges are contiguous, disjoint, cover all groups, and instanceForKeyGroup inverts them', () => {
  for (const maxP of [1, 7, 128, 1000]) {
    for (const p of [1, 2, 3, 5, 7, Math.min(maxP, 64), maxP]) {
      if (p > maxP) continue;
      let next = 0;
      for (let i = 0; i < p; i++) {
        const r = keyGroupRange(i, p, maxP);
        assert.equal(r.start, next);
        assert.ok(r.end >= r.start, `instance ${i}/${p} of ${maxP} is empty`);
        for (let g = r.start; g <= r.end; g++) assert.equal(instanceForKeyGroup(g, p, maxP), i);
        next = r.end + 1;
      }
      assert.equal(next, maxP);
    }
  }
});

test('invalid parallelism is rejected', () => {
  assert.throws(() => keyGroupRange(0, 0), RangeError);
  assert.throws(() => keyGroupRange(3, 3), RangeError);
  assert.throws(() => keyGroupRange(0, 129, 128), RangeError);
  assert.throws(() => keyGroupRange(0, 1, 0), RangeError);
});
