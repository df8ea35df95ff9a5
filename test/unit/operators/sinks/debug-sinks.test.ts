import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { discardSink } from '../../../../src/operators/sinks/discard-sink.js';
import { stdoutSink } from '../../../../src/operators/sinks/stdout-sink.js';
import { testSinkContext } from '../operator-harness.js';

test('stdout sink prints one JSON line per record and has nothing to commit', async () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const sink = stdoutSink<unknown>({ stream });
  const writer = await sink.createWriter(testSinkContext());
  await writer.write([{ a: 1 }, 'x', { big: 5n }]);
  await writer.write([]);
  assert.equal(text, '{"a":1}\n"x"\n{"big":"5"}\n');
  assert.deepEqual(await writer.prepareCommit(1), []);
  await (await sink.createCommitter(testSinkContext())).commit([{ checkpointId: 1, committables: [] }]);
});

test('stdout sink waits for drain when the stream is full', async () => {
  const stream = new PassThrough({ highWaterMark: 4 });
  const writer = await stdoutSink<number>({ stream }).createWriter(testSinkContext());
  let done = false;
  const pending = Promise.resolve(writer.write([123456789])).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'waits while nobody reads');
  stream.resume();
  await pending;
  assert.equal(done, true);
});

test('discard sink counts records across writers', async () => {
  const sink = discardSink<number>();
  const w1 = await sink.createWriter(testSinkContext());
  const w2 = await sink.createWriter(testSinkContext());
  w1.write([1, 2, 3]);
  w2.write([4]);
  assert.equal(sink.count, 4);
  assert.deepEqual(await w1.prepareCommit(1), []);
});
