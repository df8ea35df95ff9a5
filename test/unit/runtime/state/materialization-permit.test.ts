import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { MaterializationPermit } from '../../../../src/runtime/state/snapshot/materialization-permit.js';
import { ManualClock } from '../../../../src/runtime/time/manual-clock.js';

/** Lets settled promises run their callbacks. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('materialization permit: a second subtask waits until the first lets go, then gets it', async () => {
  const clock = new ManualClock();
  const buffer = MaterializationPermit.newBuffer();
  const a = new MaterializationPermit(buffer, clock, 200, 60_000);
  const b = new MaterializationPermit(buffer, clock, 200, 60_000);
  const releaseA = await a.acquire(new AbortController().signal);
  assert.ok(releaseA);
  let bHolds = false;
  const bAcquired = b.acquire(new AbortController().signal).then((release) => {
    bHolds = true;
    return release;
  });
  await clock.advance(1_000);
  await turn();
  assert.equal(bHolds, false, 'waits while the first holds it');
  releaseA();
  releaseA(); // twice does nothing
  await clock.advance(200);
  await turn();
  assert.equal(bHolds, true, 'gets it at its next look');
  const releaseB = (await bAcquired)!;
  // Held by b now: a third waits again.
  let aAgain = false;
  void a.acquire(new AbortController().signal).then(() => (aAgain = true));
  await clock.advance(400);
  await turn();
  assert.equal(aAgain, false);
  releaseB();
  await clock.advance(200);
  await turn();
  assert.equal(aAgain, true);
});

test('materialization permit: an aborted wait resolves undefined and takes nothing', async () => {
  const clock = new ManualClock();
  const buffer = MaterializationPermit.newBuffer();
  const a = new MaterializationPermit(buffer, clock, 200, 60_000);
  const b = new MaterializationPermit(buffer, clock, 200, 60_000);
  const releaseA = (await a.acquire(new AbortController().signal))!;
  const closing = new AbortController();
  const waiting = b.acquire(closing.signal);
  await clock.advance(200);
  closing.abort();
  assert.equal(await waiting, undefined);
  releaseA();
  assert.ok(await b.acquire(new AbortController().signal), 'free again once released');
});

test('materialization permit: a holder that never lets go holds the others back only for the patience', async () => {
  const clock = new ManualClock();
  const buffer = MaterializationPermit.newBuffer();
  await new MaterializationPermit(buffer, clock, 200, 5_000).acquire(new AbortController().signal); // never released
  let proceeded = false;
  void new MaterializationPermit(buffer, clock, 200, 5_000).acquire(new AbortController().signal).then(() => (proceeded = true));
  await clock.advance(4_800);
  await turn();
  assert.equal(proceeded, false);
  await clock.advance(400);
  await turn();
  assert.equal(proceeded, true);
});

test('materialization permit: shared memory holds it for every thread given the buffer', async () => {
  const buffer = MaterializationPermit.newBuffer();
  const clock = new ManualClock();
  const release = (await new MaterializationPermit(buffer, clock).acquire(new AbortController().signal))!;
  // Another thread sees the permit taken, then free after the release (no module of ours in the worker: the cell is the protocol).
  const peek = () =>
    new Promise<number>((resolve, reject) => {
      const worker = new Worker('const { workerData, parentPort } = require("node:worker_threads"); parentPort.postMessage(Atomics.load(new Int32Array(workerData), 0));', { eval: true, workerData: buffer });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  assert.equal(await peek(), 1);
  release();
  assert.equal(await peek(), 0);
});
