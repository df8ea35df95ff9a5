import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonlFileSource, type JsonlFilePosition, type JsonlFileSourceOptions } from '../../../../src/operators/sources/jsonl-file-source.js';
import { testSourceContext } from '../operator-harness.js';

async function fixture(): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'jsonl-source-'));
  const a = join(dir, 'a.jsonl');
  const b = join(dir, 'b.jsonl');
  await writeFile(a, '{"n":1}\n{"n":2,"s":"héllo 日本"}\r\n\n{not json}\n{"n":3}\n   \n{"n":4}');
  await writeFile(b, '{"n":5}\n[1,2\n{"n":6}\n');
  return [a, b];
}

async function read(options: JsonlFileSourceOptions, restored?: JsonlFilePosition, maxPolls = Infinity) {
  const source = jsonlFileSource<unknown>(options);
  const reader = source.createReader();
  const ctx = testSourceContext();
  await reader.open(ctx, restored);
  const batches: unknown[][] = [];
  const positions: JsonlFilePosition[] = [];
  let ended = false;
  for (let i = 0; i < maxPolls; i++) {
    const b = await reader.poll();
    if (b === 'end') {
      ended = true;
      break;
    }
    if (b === 'idle') continue;
    batches.push([...b.records]);
    const ser = source.positionSerializer;
    positions.push(ser.deserialize(ser.version, ser.serialize(reader.snapshot(i))));
  }
  await reader.close();
  return { records: batches.flat(), batches, positions, ended, letters: ctx.deadLetterSink.letters };
}

test('reads every file in order; malformed lines become dead letters; blank lines are skipped', async () => {
  const paths = await fixture();
  const { records, ended, letters } = await read({ paths });
  assert.ok(ended);
  assert.deepEqual(records, [{ n: 1 }, { n: 2, s: 'héllo 日本' }, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }]);
  assert.equal(letters.length, 2);
  assert.ok(letters.every((l) => l.reason === 'malformed_json' && l.step === 'test.source'));
  assert.equal(new TextDecoder().decode(letters[0]!.payload as Uint8Array), '{not json}');
  assert.match(letters[0]!.detail, /a\.jsonl at byte 38/);
  assert.equal(new TextDecoder().decode(letters[1]!.payload as Uint8Array), '[1,2');
});

test('tiny read buffers and batch sizes give the same records', async () => {
  const paths = await fixture();
  const whole = await read({ paths });
  const tiny = await read({ paths, readBufferBytes: 3, batchSize: 1 });
  assert.deepEqual(tiny.records, whole.records);
  assert.ok(tiny.batches.every((b) => b.length <= 1));
});

test('restoring from the position after any poll resumes exactly after the last returned record', async () => {
  const paths = await fixture();
  const full = await read({ paths, batchSize: 1, readBufferBytes: 5 });
  for (let k = 0; k < full.positions.length; k++) {
    const rest = await read({ paths, batchSize: 2 }, full.positions[k]);
    assert.deepEqual([...full.batches.slice(0, k + 1).flat(), ...rest.records], full.records, `restore after poll ${k}`);
  }
  const last = full.positions.at(-1)!;
  assert.deepEqual(Object.keys(last.offsets), paths);
  const after = await read({ paths }, last);
  assert.deepEqual(after.records, []);
  assert.ok(after.ended);
});

test('options are validated', () => {
  assert.throws(() => jsonlFileSource({ paths: [] }), /at least one/);
  assert.throws(() => jsonlFileSource({ paths: ['x', 'x'] }), /distinct/);
  assert.throws(() => jsonlFileSource({ paths: 'x', batchSize: 0 }), /batchSize/);
});
