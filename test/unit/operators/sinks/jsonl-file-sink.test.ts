import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonlFileSink, MissingPartFileError, type JsonlCommittable } from '../../../../src/operators/sinks/jsonl-file-sink.js';
import { testSinkContext } from '../operator-harness.js';

async function committedLines(dir: string): Promise<unknown[]> {
  const files = (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
  const lines: unknown[] = [];
  for (const f of files) for (const l of (await readFile(join(dir, f), 'utf8')).split('\n')) if (l !== '') lines.push(JSON.parse(l));
  return lines;
}

test('nothing is visible before commit; commit publishes one file per checkpoint', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'jsonl-sink-')), 'out');
  const sink = jsonlFileSink<{ n: number; big?: bigint }>({ directory: dir });
  const writer = await sink.createWriter(testSinkContext());
  const committer = await sink.createCommitter(testSinkContext());
  await writer.write([{ n: 1 }, { n: 2, big: 2n ** 70n }]);
  assert.deepEqual(await committedLines(dir), []);
  const c1 = await writer.prepareCommit(1);
  assert.equal(c1.length, 1);
  assert.deepEqual(await committedLines(dir), []);
  assert.deepEqual(await writer.prepareCommit(2), [], 'no records, no file');
  await writer.write([{ n: 3 }]);
  const c3 = await writer.prepareCommit(3);
  await committer.commit([{ checkpointId: 1, committables: c1 }]);
  assert.deepEqual(await committedLines(dir), [{ n: 1 }, { n: 2, big: (2n ** 70n).toString() }]);
  await committer.commit([{ checkpointId: 3, committables: c3 }]);
  assert.equal((await committedLines(dir)).length, 3);
  assert.match(c3[0]!.finalPath, /part-[0-9a-f-]+-00000003\.jsonl$/);
  await writer.close();
});

test('commit is idempotent: re-committing after a restore skips what was already renamed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'jsonl-sink-'));
  const sink = jsonlFileSink<number>({ directory: dir });
  const writer = await sink.createWriter(testSinkContext());
  await writer.write([1, 2, 3]);
  const committables = await writer.prepareCommit(1);
  // The committables go through the checkpoint, as the runtime stores them.
  const ser = sink.committableSerializer;
  const restored = committables.map((c) => ser.deserialize(ser.version, ser.serialize(c)));
  await (await sink.createCommitter(testSinkContext())).commit([{ checkpointId: 1, committables }]);
  // Crash after the commit, before the runtime recorded it: a new committer commits again.
  await (await sink.createCommitter(testSinkContext())).commit([{ checkpointId: 1, committables: restored }]);
  assert.deepEqual(await committedLines(dir), [1, 2, 3]);
});

test('a committable whose files are both gone is an error, not silent loss', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'jsonl-sink-'));
  const sink = jsonlFileSink<number>({ directory: dir });
  const writer = await sink.createWriter(testSinkContext());
  await writer.write([1]);
  const [c] = (await writer.prepareCommit(1)) as JsonlCommittable[];
  await rm(c!.tempPath);
  await assert.rejects((await sink.createCommitter(testSinkContext())).commit([{ checkpointId: 1, committables: [c!] }]), MissingPartFileError);
});

test('crash between checkpoints: uncommitted data never appears; committed data appears once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'jsonl-sink-'));
  const sink = jsonlFileSink<number>({ directory: dir });
  const w1 = await sink.createWriter(testSinkContext());
  await w1.write([1, 2]);
  const c1 = await w1.prepareCommit(1); // checkpoint 1 durable, commit not yet run
  await w1.write([3, 4]); // after the barrier: lost with the crash, replayed from the source
  // -- crash: w1 is abandoned without close; restart restores checkpoint 1 and re-commits it
  await (await sink.createCommitter(testSinkContext())).commit([{ checkpointId: 1, committables: c1 }]);
  const w2 = await sink.createWriter(testSinkContext());
  await w2.write([3, 4]);
  await (await sink.createCommitter(testSinkContext())).commit([{ checkpointId: 2, committables: await w2.prepareCommit(2) }]);
  assert.deepEqual((await committedLines(dir)).sort(), [1, 2, 3, 4]);
  assert.ok((await readdir(dir)).some((f) => f.endsWith('.inprogress')), 'the crashed writer left an in-progress file, ignored by readers');
  await w2.write([5]);
  await w2.close();
  assert.equal((await readdir(dir)).filter((f) => f.endsWith('.inprogress')).length, 1, 'close removes its own uncommittable file');
});

test('prefix is validated', () => {
  assert.throws(() => jsonlFileSink({ directory: '/tmp/x', prefix: '../evil' }), /prefix/);
  assert.throws(() => jsonlFileSink({ directory: '' }), /directory/);
});
