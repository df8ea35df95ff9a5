/**
 * The exchange inbox lets go of what the keyed step took: checked with weak references and a real
 * garbage collection, since what matters is what stays reachable, not what the API returns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ExchangeInbox } from '../../../../../src/runtime/parallel/exchange/exchange-inbox.js';
import type { ChannelElement } from '../../../../../src/runtime/parallel/exchange/exchange-wire.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function batch(n: number): ChannelElement {
  return { kind: 'data', records: [{ n }] } as unknown as ChannelElement;
}

test('elements come out in order, one at a time, across compactions', () => {
  const inbox = new ExchangeInbox();
  let next = 0;
  let pushed = 0;
  for (let round = 0; round < 50; round++) {
    inbox.push(Array.from({ length: 97 }, () => batch(pushed++)));
    while (inbox.size > 3) assert.equal((inbox.take() as unknown as { records: { n: number }[] }).records[0]!.n, next++);
  }
  assert.equal(inbox.size, 3);
  assert.equal((inbox.peek() as unknown as { records: { n: number }[] }).records[0]!.n, next);
});

/** Four elements in, four taken; nothing of them left on this function's stack. */
function passFour(inbox: ExchangeInbox, refs: WeakRef<object>[], i: number): void {
  const elements = Array.from({ length: 4 }, (_, k) => batch(i * 4 + k));
  for (const e of elements) refs.push(new WeakRef(e as object));
  inbox.push(elements);
  for (let k = 0; k < 4; k++) inbox.take();
}

test('a taken element is no longer held by the inbox, however long until it compacts', async () => {
  const inbox = new ExchangeInbox();
  const refs: WeakRef<object>[] = [];
  // As a channel with 4 credits runs: a few in, each taken soon after; 2,000 in all.
  for (let i = 0; i < 500; i++) passFour(inbox, refs, i);
  inbox.push([batch(-1)]); // the one still waiting
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const held = refs.filter((r) => r.deref() !== undefined).length;
  assert.equal(held, 0, `${held} of 2,000 taken batches are still reachable`);
  assert.equal(inbox.size, 1);
});
