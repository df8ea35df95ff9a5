/**
 * mergeBlocks against a replay: random sources (a base, deltas, the interval's changes) of a value
 * state with a TTL and a map state, with deletions, whole-map clears and expired entries, merged
 * into a base. The expected base is what applying every source's entries in order to a plain
 * model leaves alive, sorted by the test's own comparator.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteReader } from '../../../../src/runtime/state/format/byte-reader.js';
import { ByteWriter } from '../../../../src/runtime/state/format/byte-writer.js';
import { readEntry, writeEntry } from '../../../../src/runtime/state/format/state-entry-codec.js';
import type { EncodedStateBlock, StateEntry } from '../../../../src/runtime/state/format/state-file.js';
import { mergeBlocks, type BlockSource } from '../../../../src/runtime/state/snapshot/block-merge.js';

type Key = string | number;
type Row = [state: string, keyGroup: number, key: Key, mapKey: Key | undefined, writtenAt: number | undefined, value: unknown];

const TTL = 10_000;
const NOW = 100_000;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
}

/** Numbers before strings, strings by UTF-16 code units; an absent map key first. */
function byKey(a: Key | undefined, b: Key | undefined): number {
  if (a === undefined || b === undefined) return a === undefined ? (b === undefined ? 0 : -1) : 1;
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

interface SourceEntry {
  readonly state: 'carts' | 'seen';
  readonly keyGroup: number;
  readonly entry: StateEntry;
}

/** One source's entries as encoded blocks in file order. */
function encode(entries: SourceEntry[]): EncodedStateBlock[] {
  const sorted = [...entries].sort((x, y) => (x.state < y.state ? -1 : x.state > y.state ? 1 : 0) || x.keyGroup - y.keyGroup || byKey(x.entry.key, y.entry.key) || byKey(x.entry.mapKey, y.entry.mapKey));
  const blocks: EncodedStateBlock[] = [];
  for (let i = 0; i < sorted.length; ) {
    const { state, keyGroup } = sorted[i]!;
    const out = new ByteWriter(256);
    let count = 0;
    for (; i < sorted.length && sorted[i]!.state === state && sorted[i]!.keyGroup === keyGroup; i++, count++) writeEntry(out, sorted[i]!.entry);
    blocks.push({ state, split: '', keyGroup, count, bytes: out.detach() });
  }
  return blocks;
}

function sourceOf(blocks: EncodedStateBlock[]): BlockSource {
  let i = 0;
  return { next: async () => blocks[i++] };
}

test('merging a chain keeps the newest live entry of every key, and nothing deleted, cleared or expired', async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rnd = random(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const keys: Key[] = [...Array.from({ length: 120 }, (_, i) => `order-${i}`), ...Array.from({ length: 30 }, (_, i) => i * 3)];
    const groupOf = (key: Key) => (typeof key === 'number' ? key % 4 : key.length % 4);
    const sources: SourceEntry[][] = [];
    // The replay: what applying the sources in order leaves.
    const values = new Map<Key, { writtenAt: number; value: unknown } | undefined>();
    const maps = new Map<Key, Map<Key, { writtenAt: number; value: unknown } | undefined>>();
    for (let s = 0; s < 5; s++) {
      const entries = new Map<string, SourceEntry>(); // one entry per (state, key, map key) in a source
      const cleared = new Set<Key>();
      for (let n = 0; n < 200; n++) {
        const key = pick(keys);
        const writtenAt = NOW - TTL - 2_000 + Math.floor(rnd() * 4_000) + s * 500;
        const r = rnd();
        if (rnd() < 0.5) {
          const deleted = s > 0 && r < 0.2;
          const entry: StateEntry = deleted ? { key, deleted: true } : { key, deleted: false, writtenAt, value: pick([true, 7, 'x', { n }, null]) };
          entries.set(JSON.stringify(['seen', key]), { state: 'seen', keyGroup: groupOf(key), entry });
        } else if (s > 0 && r < 0.05 && !cleared.has(key)) {
          // A clear in a file comes before the key's map entries of that same file: later writes.
          cleared.add(key);
          for (const id of [...entries.keys()]) if (id.startsWith(JSON.stringify(['carts', key]).slice(0, -1) + ',')) entries.delete(id);
          entries.set(JSON.stringify(['carts', key]), { state: 'carts', keyGroup: groupOf(key), entry: { key, deleted: true } });
        } else {
          const mapKey = pick(['a', 'b', 'c', 2]);
          const deleted = s > 0 && r < 0.25;
          const entry: StateEntry = deleted ? { key, mapKey, deleted: true } : { key, mapKey, deleted: false, writtenAt, value: n };
          entries.set(JSON.stringify(['carts', key, mapKey]), { state: 'carts', keyGroup: groupOf(key), entry });
        }
      }
      const list = [...entries.values()];
      sources.push(list);
      for (const key of cleared) maps.delete(key);
      for (const { state, entry } of list) {
        const live = entry.deleted ? undefined : { writtenAt: entry.writtenAt!, value: entry.value };
        if (state === 'seen') values.set(entry.key, live);
        else if (entry.mapKey !== undefined) {
          let map = maps.get(entry.key);
          if (map === undefined) maps.set(entry.key, (map = new Map()));
          map.set(entry.mapKey, live);
        }
      }
    }
    const alive = (e: { writtenAt: number } | undefined): e is { writtenAt: number; value: unknown } => e !== undefined && NOW - e.writtenAt < TTL;
    const expected: Row[] = [];
    for (const [key, e] of values) if (alive(e)) expected.push(['seen', groupOf(key), key, undefined, e.writtenAt, e.value]);
    for (const [key, map] of maps) for (const [mapKey, e] of map) if (alive(e)) expected.push(['carts', groupOf(key), key, mapKey, e.writtenAt, e.value]);
    expected.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0) || x[1] - y[1] || byKey(x[2], y[2]) || byKey(x[3], y[3]));

    const merged: Row[] = [];
    let blocks = 0;
    for await (const block of mergeBlocks(sources.map((s) => sourceOf(encode(s))), { now: NOW, ttlOf: () => TTL })) {
      blocks++;
      const input = new ByteReader(block.bytes, 'merged');
      for (let i = 0; i < block.count; i++) {
        const e = readEntry(input);
        assert.equal(e.deleted, false, 'a base holds no tombstones');
        merged.push([block.state, block.keyGroup, e.key, e.mapKey, e.writtenAt, e.value]);
      }
      assert.equal(input.remaining, 0, 'a block holds exactly its entries');
    }
    assert.ok(blocks >= 6, `blocks of both states and several key groups (seed ${seed}: ${blocks})`);
    assert.ok(expected.length > 100, `enough live entries to say something (seed ${seed}: ${expected.length})`);
    assert.deepEqual(merged, expected, `seed ${seed}`);
  }
});

test('a block whose entries end before its bytes do is refused as corrupt', async () => {
  const out = new ByteWriter(64);
  writeEntry(out, { key: 'a', deleted: false, value: 1 });
  writeEntry(out, { key: 'b', deleted: false, value: 2 });
  const bytes = out.detach();
  const source = sourceOf([{ state: 'seen', split: '', keyGroup: 0, count: 1, bytes }]);
  await assert.rejects(async () => {
    for await (const _ of mergeBlocks([source], { now: NOW, ttlOf: () => null })) void _;
  }, /bytes after its 1 entries/);
});
