import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { LeaseLostError, LeaseUnconfirmedError } from '../../../../src/errors.js';
import type { HaStore, Lease } from '../../../../src/runtime/ha-store.js';
import { LeaseKeeper } from '../../../../src/runtime/ha/lease-keeper.js';
import { LocalHaStore } from '../../../../src/runtime/ha/local-ha-store.js';
import { newLeaseOwnerId, waitForLease } from '../../../../src/runtime/ha/wait-for-lease.js';
import { FakeClock } from './ha-store-contract.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lease-keeper-'));
  dirs.push(dir);
  return dir;
}

const TTL = 9_000;

test('assertHeld passes while renewals succeed and refuses (retriably) once the local expiry nears', async () => {
  const clock = new FakeClock();
  const store = new LocalHaStore(await freshDir(), { clock });
  const lease = (await store.tryAcquire('orders', 'a', TTL))!;
  const keeper = new LeaseKeeper({ store, lease, ttlMs: TTL, clock, onLost: () => assert.fail('not lost') });
  keeper.assertHeld();
  clock.advance(TTL - 2000);
  await keeper.renewNow();
  clock.advance(TTL - 2000);
  keeper.assertHeld(); // renewed: still inside
  clock.advance(1500); // within the safety margin (900 ms) of the local expiry
  assert.throws(() => keeper.assertHeld(), (err: unknown) => err instanceof LeaseUnconfirmedError && err.retriable && /about to expire/.test(err.message));
  assert.equal(keeper.lost, false);
  assert.equal(keeper.unconfirmed, true);
});

test('a store outage longer than the TTL pauses commits; the first renewal the store accepts resumes them', async () => {
  const clock = new FakeClock();
  const store = new LocalHaStore(await freshDir(), { clock });
  const lease = (await store.tryAcquire('orders', 'a', TTL))!;
  let down = true;
  const outage: HaStore = Object.assign(Object.create(store) as HaStore, {
    renew: async (l: Lease, ttl: number) => {
      if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:4566');
      return store.renew(l, ttl);
    },
  });
  let confirmed = 0;
  const keeper = new LeaseKeeper({ store: outage, lease, ttlMs: TTL, clock, onLost: () => assert.fail('not lost'), onConfirmed: () => confirmed++ });
  clock.advance(TTL / 3);
  await keeper.renewNow();
  assert.equal(confirmed, 0, 'a failed renewal inside the lease confirms nothing');
  clock.advance(TTL); // well past the expiry: nobody took the lease over
  await keeper.renewNow();
  assert.throws(() => keeper.assertHeld(), (err: unknown) => err instanceof LeaseUnconfirmedError && /expired at/.test(err.message));
  down = false;
  await keeper.renewNow();
  keeper.assertHeld();
  assert.equal(keeper.unconfirmed, false);
  assert.equal(keeper.current().fencingToken, 1n, 'the same lease, confirmed again');
  assert.equal(keeper.current().expiresAt, clock.now() + TTL);
  assert.equal(confirmed, 1, 'onConfirmed once, for the renewal after the expiry');
  clock.advance(TTL / 3);
  await keeper.renewNow();
  assert.equal(confirmed, 1, 'a renewal in time is not a re-confirmation');
});

test('a store outage during which another instance took the lease over ends in a loss, never in a confirmation', async () => {
  const clock = new FakeClock();
  const dir = await freshDir();
  const store = new LocalHaStore(dir, { clock });
  const lease = (await store.tryAcquire('orders', 'a', TTL))!;
  let down = true;
  const outage: HaStore = Object.assign(Object.create(store) as HaStore, {
    renew: async (l: Lease, ttl: number) => {
      if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:4566');
      return store.renew(l, ttl);
    },
  });
  const lost: LeaseLostError[] = [];
  const keeper = new LeaseKeeper({ store: outage, lease, ttlMs: TTL, clock, onLost: (err) => lost.push(err) });
  clock.advance(TTL + 1);
  await keeper.renewNow();
  assert.throws(() => keeper.assertHeld(), LeaseUnconfirmedError);
  assert.ok(await new LocalHaStore(dir, { clock }).tryAcquire('orders', 'b', TTL));
  down = false;
  await keeper.renewNow();
  assert.equal(lost.length, 1);
  assert.throws(() => keeper.assertHeld(), LeaseLostError);
});

test('past the local expiry, renewals go on at a steady pace (not a busy loop) until the store answers', async () => {
  const store = new LocalHaStore(await freshDir());
  const ttl = 600;
  const lease = (await store.tryAcquire('orders', 'a', ttl))!;
  let attempts = 0;
  let down = true;
  const outage: HaStore = Object.assign(Object.create(store) as HaStore, {
    renew: async (l: Lease, t: number) => {
      attempts++;
      if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:4566');
      return store.renew(l, t);
    },
  });
  const keeper = new LeaseKeeper({ store: outage, lease, ttlMs: ttl, onLost: () => assert.fail('not lost') }).start();
  await delay(ttl * 3); // 1,800 ms, of which 1,200 ms past the expiry
  assert.throws(() => keeper.assertHeld(), LeaseUnconfirmedError);
  // Every 200 ms (the renew interval) at most, a few quicker ones near the expiry: no spinning.
  assert.ok(attempts >= 4 && attempts <= 20, `renewal attempts in 1.8 s: ${attempts}`);
  down = false;
  await delay(400);
  keeper.assertHeld();
  await keeper.stop();
});

test('a takeover is reported once through onLost and every later assertHeld fails', async () => {
  const clock = new FakeClock();
  const dir = await freshDir();
  const store = new LocalHaStore(dir, { clock });
  const lease = (await store.tryAcquire('orders', 'a', TTL))!;
  const lostErrors: LeaseLostError[] = [];
  const keeper = new LeaseKeeper({ store, lease, ttlMs: TTL, clock, onLost: (err) => lostErrors.push(err) });
  clock.advance(TTL + 1);
  const successor = await new LocalHaStore(dir, { clock }).tryAcquire('orders', 'b', TTL);
  assert.equal(successor?.fencingToken, 2n);
  await keeper.renewNow();
  await keeper.renewNow();
  assert.equal(lostErrors.length, 1);
  assert.match(lostErrors[0]!.message, /'b' with fencing token 2/);
  assert.equal(keeper.lost, true);
  assert.throws(() => keeper.assertHeld(), LeaseLostError);
  assert.equal(keeper.current().fencingToken, 1n);
  await keeper.release(); // must not release the successor's lease
  assert.equal(await store.currentToken('orders'), 2n);
  assert.equal(await new LocalHaStore(dir, { clock }).tryAcquire('orders', 'c', TTL), undefined);
});

test('transient renewal errors are retried, not reported as a loss', async () => {
  const clock = new FakeClock();
  const store = new LocalHaStore(await freshDir(), { clock });
  const lease = (await store.tryAcquire('orders', 'a', TTL))!;
  let failures = 2;
  const flaky: HaStore = Object.assign(Object.create(store) as HaStore, {
    renew: async (l: Lease, ttl: number) => {
      if (failures-- > 0) throw new Error('ECONNRESET');
      return store.renew(l, ttl);
    },
  });
  const keeper = new LeaseKeeper({ store: flaky, lease, ttlMs: TTL, clock, onLost: () => assert.fail('not lost') });
  clock.advance(TTL / 3);
  await keeper.renewNow();
  await keeper.renewNow();
  assert.equal(keeper.current().expiresAt, lease.expiresAt);
  await keeper.renewNow();
  assert.equal(keeper.current().expiresAt, clock.now() + TTL);
});

test('with real timers the keeper holds the lease past its TTL, and release hands it over at once', async () => {
  const dir = await freshDir();
  const store = new LocalHaStore(dir);
  const other = new LocalHaStore(dir);
  const ttl = 300;
  const lease = (await store.tryAcquire('orders', newLeaseOwnerId(), ttl))!;
  const keeper = new LeaseKeeper({ store, lease, ttlMs: ttl, onLost: () => assert.fail('not lost') }).start();
  await delay(ttl * 3);
  keeper.assertHeld();
  assert.equal(await other.tryAcquire('orders', 'standby', ttl), undefined);
  assert.ok(keeper.current().expiresAt > lease.expiresAt);
  await keeper.release();
  const taken = await other.tryAcquire('orders', 'standby', ttl);
  assert.equal(taken?.fencingToken, 2n);
});

test('waitForLease: a standby takes over within TTL + poll after the active one stops renewing', async () => {
  const dir = await freshDir();
  const ttl = 400;
  const active = (await new LocalHaStore(dir).tryAcquire('orders', 'active', ttl))!;
  const started = Date.now();
  const lease = await waitForLease(new LocalHaStore(dir), 'orders', 'standby', ttl, { pollMs: 50 });
  const waited = Date.now() - started;
  assert.equal(lease.fencingToken, active.fencingToken + 1n);
  assert.ok(waited >= ttl - 60 && waited < ttl + 500, `waited ${waited} ms`);

  const controller = new AbortController();
  const waiting = waitForLease(new LocalHaStore(dir), 'orders', 'third', 60_000, { pollMs: 20, signal: controller.signal });
  controller.abort(new Error('shutting down'));
  await assert.rejects(waiting, /shutting down/);
});
