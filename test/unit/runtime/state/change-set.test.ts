/**
 * ChangeSet against a model kept beside it: random writes, deletes and map clears over two states
 * and two splits, spread over several changelogs, must come out as the last write of every key
 * (a key keeping the split it was first written under until deleted), in the blocks and order a
 * state file requires.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChangeSet } from '../../../../src/runtime/state/changelog/change-set.js';
import { ChangelogWriter } from '../../../../src/runtime/state/changelog/changelog-writer.js';
import type { StateInfo } from '../../../../src/runtime/state/format/state-file.js';
import { decodeBlock } from '../../../../src/runtime/state/format/state-entry-codec.js';
import { StateFileReader } from '../../../../src/runtime/state/format/state-file-reader.js';
import { StateFileWriter } from '../../../../src/runtime/state/format/state-file-writer.js';
import { keyGroupFor } from '../../../../src/runtime/state/key-group.js';

type Key = string | number;
interface Last {
  split: number;
  deleted: boolean;
  writtenAt: number | undefined;
  value: unknown;
}

const states: StateInfo[] = [
  { name: 'seen', kind: 'value', ttlMs: 60_000 },
  { name: 'carts', kind: 'map', ttlMs: null },
];
const splits = ['orders-1', 'orders-0'];
const MAX_PARALLELISM = 16;

/** A small deterministic generator (the test must be repeatable). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
}

const byKey = (a: Key, b: Key) => (typeof a === 'number' ? (typeof b === 'number' ? a - b : -1) : typeof b === 'number' ? 1 : a < b ? -1 : a > b ? 1 : 0);

test('a change set holds the last write of every key, by split and key group, in state-file order', async () => {
  const rnd = random(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const keys: Key[] = [...Array.from({ length: 300 }, (_, i) => `order-${i}`), ...Array.from({ length: 50 }, (_, i) => i * 7)];
  const values = new Map<Key, Last>();
  const maps = new Map<Key, { split: number; cleared: boolean; entries: Map<Key, Last> }>();
  const logs: Uint8Array[] = [];
  for (let l = 0; l < 3; l++) {
    const log = new ChangelogWriter();
    for (let i = 0; i < 4_000; i++) {
      const key = pick(keys);
      const split = rnd() < 0.1 ? -1 : rnd() < 0.5 ? 0 : 1;
      const r = rnd();
      if (rnd() < 0.5) {
        const writtenAt = 1_000 + l * 10_000 + i;
        if (r < 0.8) {
          const value = pick([true, 17, 'x', { n: i }, null]);
          log.set(0, split, key, undefined, writtenAt, value);
          const prev = values.get(key);
          values.set(key, { split: prev && !prev.deleted && prev.split >= 0 ? prev.split : split, deleted: false, writtenAt, value });
        } else {
          log.delete(0, split, key, undefined);
          const prev = values.get(key);
          values.set(key, { split: prev && !prev.deleted && prev.split >= 0 ? prev.split : split, deleted: true, writtenAt: undefined, value: undefined });
        }
      } else {
        let m = maps.get(key);
        if (m === undefined) maps.set(key, (m = { split, cleared: false, entries: new Map() }));
        if (r < 0.05) {
          log.clearMap(1, split, key);
          m.cleared = true;
          m.entries.clear();
        } else {
          const mapKey = pick(['a', 'b', 'c', 3]);
          if (r < 0.8) {
            log.set(1, split, key, mapKey, undefined, i);
            m.entries.set(mapKey, { split, deleted: false, writtenAt: undefined, value: i });
          } else {
            log.delete(1, split, key, mapKey);
            m.entries.set(mapKey, { split, deleted: true, writtenAt: undefined, value: undefined });
          }
        }
      }
    }
    logs.push(log.detach());
  }

  // The expected blocks, built from the model.
  type Row = [key: Key, mapKey: Key | undefined, deleted: boolean, writtenAt: number | undefined, value: unknown];
  const expected = new Map<string, { state: string; split: string; keyGroup: number; rows: Row[] }>();
  const add = (state: string, split: number, key: Key, row: Row) => {
    const splitName = split < 0 ? '' : splits[split]!;
    const keyGroup = keyGroupFor(key, MAX_PARALLELISM);
    const id = JSON.stringify([state, splitName, keyGroup]);
    let block = expected.get(id);
    if (block === undefined) expected.set(id, (block = { state, split: splitName, keyGroup, rows: [] }));
    block.rows.push(row);
  };
  for (const [key, c] of values) add('seen', c.split, key, [key, undefined, c.deleted, c.deleted ? undefined : c.writtenAt, c.value]);
  for (const [key, m] of maps) {
    if (m.cleared) add('carts', m.split, key, [key, undefined, true, undefined, undefined]);
    for (const [mapKey, e] of m.entries) add('carts', m.split, key, [key, mapKey, e.deleted, undefined, e.value]);
  }
  const expectedBlocks = [...expected.values()]
    .map((b) => ({ ...b, rows: b.rows.sort((x, y) => byKey(x[0], y[0]) || (x[1] === undefined ? (y[1] === undefined ? 0 : -1) : y[1] === undefined ? 1 : byKey(x[1], y[1]))) }))
    .sort((a, b) => (a.state !== b.state ? (a.state < b.state ? -1 : 1) : a.split !== b.split ? (a.split < b.split ? -1 : 1) : a.keyGroup - b.keyGroup));

  const changes = new ChangeSet(states, splits, MAX_PARALLELISM, logs);
  const blocks = [...changes.encodedBlocks()].map((encoded) => decodeBlock(encoded, 'changes')).map((b) => ({
    state: b.state,
    split: b.split,
    keyGroup: b.keyGroup,
    rows: b.entries.map((e): Row => [e.key, e.mapKey, e.deleted, e.writtenAt, e.value]),
  }));
  assert.equal(changes.size, expectedBlocks.reduce((n, b) => n + b.rows.length, 0));
  assert.ok(expectedBlocks.length > 50, `many blocks (${expectedBlocks.length})`);
  assert.deepEqual(blocks, expectedBlocks);

  // A delta copies the encoded blocks into its file as they are: read back, they are the same blocks.
  const writer = new StateFileWriter({ kind: 'delta', maxParallelism: MAX_PARALLELISM, states });
  for (const block of new ChangeSet(states, splits, MAX_PARALLELISM, logs).encodedBlocks()) writer.encodedBlock(block);
  writer.finish();
  const chunks = writer.drain();
  const reader = new StateFileReader(
    (async function* () {
      yield* chunks;
    })(),
    'delta under test',
  );
  const read: typeof blocks = [];
  for (let block = await reader.next(); block !== undefined; block = await reader.next()) {
    read.push({ state: block.state, split: block.split, keyGroup: block.keyGroup, rows: block.entries.map((e): Row => [e.key, e.mapKey, e.deleted, e.writtenAt, e.value]) });
  }
  assert.deepEqual(read, expectedBlocks);
});
