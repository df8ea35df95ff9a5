/** DeltaPriority: a materialization pausing between blocks does not go on while a delta is being written. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeltaPriority } from '../../../../src/runtime/state/snapshot/delta-priority.js';

test('a materialization gives way at its next block while deltas are written, and goes on after the last', async () => {
  const priority = new DeltaPriority();
  const events: string[] = [];
  let finishDeltas!: () => void;
  const deltasHeld = new Promise<void>((resolve) => (finishDeltas = resolve));
  const materialization = (async () => {
    for (let block = 0; block < 4; block++) {
      events.push(`block ${block}`);
      await priority.giveWay();
    }
  })();
  // Two deltas arrive while block 0 is merged; the second ends after the first.
  const first = priority.delta(async () => {
    events.push('delta 1 starts');
    await deltasHeld;
    events.push('delta 1 ends');
    return 1;
  });
  const second = priority.delta(async () => {
    events.push('delta 2 starts');
    await deltasHeld;
    await new Promise((resolve) => setImmediate(resolve));
    events.push('delta 2 ends');
    return 2;
  });
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, ['block 0', 'delta 1 starts', 'delta 2 starts'], 'no block merged while deltas are written');
  finishDeltas();
  assert.deepEqual(await Promise.all([first, second]), [1, 2]);
  await materialization;
  assert.deepEqual(events, ['block 0', 'delta 1 starts', 'delta 2 starts', 'delta 1 ends', 'delta 2 ends', 'block 1', 'block 2', 'block 3']);
});

test('a delta that fails still lets the materialization go on', async () => {
  const priority = new DeltaPriority();
  await assert.rejects(priority.delta(async () => Promise.reject(new Error('disk full'))), /disk full/);
  await priority.giveWay();
});
