/**
 * Properties every HaStore must have, run against the local store (unit) and the DynamoDB store
 * (integration, moto). Time is a fake clock shared by all instances, so expiry is tested
 * without sleeping.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FencedError, LeaseLostError } from '../../../../src/errors.js';
import type { HaStore } from '../../../../src/runtime/ha-store.js';
import type { Clock } from '../../../../src/runtime/time/clock.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';

/** A clock whose time tests move by hand (synchronously); its timers run in real time. */
export class FakeClock implements Clock {
  private readonly origin: number;
  constructor(private nowMs = 1_700_000_000_000) {
    this.origin = nowMs;
  }
  readonly now = (): number => this.nowMs;
  readonly monotonic = (): number => this.nowMs - this.origin;
  readonly setTimeout = systemClock.setTimeout;
  readonly setInterval = systemClock.setInterval;
  readonly sleep = systemClock.sleep;
  readonly yieldToEventLoop = systemClock.yieldToEventLoop;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface HaContractTarget {
  /** `instances` independent stores (as separate processes would have) on the same backing state. */
  create(instances: number, clock: FakeClock): Promise<{ stores: HaStore[]; jobName: string }>;
}

const TTL = 10_000;
/** The checkpoint location (a checkpoint store's URI) the pointers of most tests belong to. */
const AT = 's3://b/p';

/** Registers the contract tests for one HaStore implementation. */
export function haStoreContract(label: string, target: HaContractTarget): void {
  test(`${label}: the first instance acquires, a second one is refused while the lease is live`, async () => {
    const clock = new FakeClock();
    const { stores: [a, b], jobName } = await target.create(2, clock);
    assert.equal(await a!.currentToken(jobName), 0n);
    const lease = await a!.tryAcquire(jobName, 'host:1:a', TTL);
    assert.ok(lease);
    assert.equal(lease.owner, 'host:1:a');
    assert.equal(lease.jobName, jobName);
    assert.equal(lease.fencingToken, 1n);
    assert.equal(lease.expiresAt, clock.now() + TTL);
    clock.advance(TTL - 1);
    assert.equal(await b!.tryAcquire(jobName, 'host:2:b', TTL), undefined);
    assert.equal(await b!.currentToken(jobName), 1n);
    assert.equal(await b!.tryAcquire(`${jobName}-other`, 'host:2:b', TTL).then((l) => l?.fencingToken), 1n);
  });

  test(`${label}: renewing keeps the lease; after expiry a standby takes over with a higher token`, async () => {
    const clock = new FakeClock();
    const { stores: [a, b], jobName } = await target.create(2, clock);
    const first = (await a!.tryAcquire(jobName, 'host:1:a', TTL))!;
    clock.advance(TTL * 0.6);
    const renewed = await a!.renew(first, TTL);
    assert.equal(renewed.fencingToken, first.fencingToken);
    assert.equal(renewed.expiresAt, clock.now() + TTL);
    clock.advance(TTL * 0.6); // past the first expiry, inside the renewed one
    assert.equal(await b!.tryAcquire(jobName, 'host:2:b', TTL), undefined);
    clock.advance(TTL * 0.5); // past the renewed expiry
    const second = await b!.tryAcquire(jobName, 'host:2:b', TTL);
    assert.ok(second);
    assert.equal(second.fencingToken, first.fencingToken + 1n);
    await assert.rejects(a!.renew(renewed, TTL), (err: unknown) => {
      assert.ok(err instanceof LeaseLostError);
      assert.match(err.message, /lost its lease.*'host:2:b'.*fencing token 2/);
      return true;
    });
    assert.equal(await a!.currentToken(jobName), 2n);
  });

  test(`${label}: release lets a standby take over at once, and the token still increases`, async () => {
    const clock = new FakeClock();
    const { stores: [a, b], jobName } = await target.create(2, clock);
    const first = (await a!.tryAcquire(jobName, 'host:1:a', TTL))!;
    await a!.release(first);
    const second = (await b!.tryAcquire(jobName, 'host:2:b', TTL))!;
    assert.equal(second.fencingToken, 2n);
    await a!.release(first); // stale release: no effect
    assert.equal(await a!.tryAcquire(jobName, 'host:1:a', TTL), undefined);
  });

  test(`${label}: the pointer moves only forward and only by the token holder`, async () => {
    const clock = new FakeClock();
    const { stores: [a, b], jobName } = await target.create(2, clock);
    assert.equal(await a!.readPointer(jobName, AT), undefined);
    const lease = (await a!.tryAcquire(jobName, 'host:1:a', TTL))!;
    await a!.publishPointer(lease, AT, { checkpointId: 5, location: 's3://b/p/chk-5' });
    assert.deepEqual(await b!.readPointer(jobName, AT), { checkpointId: 5, location: 's3://b/p/chk-5', fencingToken: 1n });
    await a!.publishPointer(lease, AT, { checkpointId: 5, location: 's3://b/p/chk-5' }); // retried publish
    await assert.rejects(a!.publishPointer(lease, AT, { checkpointId: 4, location: 's3://b/p/chk-4' }), (err: unknown) => {
      assert.ok(err instanceof FencedError);
      assert.match(err.message, /checkpoint 4 .*already at checkpoint 5/);
      return true;
    });
    await assert.rejects(a!.publishPointer(lease, AT, { checkpointId: 5, location: 's3://b/p/other' }), FencedError);
    await a!.publishPointer(lease, AT, { checkpointId: 6, location: 's3://b/p/chk-6' });
    assert.equal((await a!.readPointer(jobName, AT))?.checkpointId, 6);
  });

  test(`${label}: each checkpoint location has its own pointer; ids only move forward within one`, async () => {
    const clock = new FakeClock();
    const { stores: [a, b], jobName } = await target.create(2, clock);
    const lease = (await a!.tryAcquire(jobName, 'host:1:a', TTL))!;
    await a!.publishPointer(lease, 's3://b/p', { checkpointId: 5, location: 's3://b/p/job/chk-5' });
    // CHECKPOINT_URI changed: the new location starts at checkpoint 1, the old pointer stays as it was.
    assert.equal(await b!.readPointer(jobName, 'file:///work/checkpoints'), undefined);
    await a!.publishPointer(lease, 'file:///work/checkpoints', { checkpointId: 1, location: '/work/checkpoints/job/chk-1' });
    assert.deepEqual(await b!.readPointer(jobName, 'file:///work/checkpoints'), { checkpointId: 1, location: '/work/checkpoints/job/chk-1', fencingToken: 1n });
    assert.deepEqual(await b!.readPointer(jobName, 's3://b/p'), { checkpointId: 5, location: 's3://b/p/job/chk-5', fencingToken: 1n });
    assert.equal(await b!.readPointer(jobName, 's3://b/p/other'), undefined, 'a location is matched exactly, not by prefix');
    await assert.rejects(a!.publishPointer(lease, 's3://b/p', { checkpointId: 2, location: 's3://b/p/job/chk-2' }), (err: unknown) => {
      assert.ok(err instanceof FencedError);
      assert.match(err.message, /checkpoint 2 of s3:\/\/b\/p .*already at checkpoint 5/);
      return true;
    });
    await a!.publishPointer(lease, 'file:///work/checkpoints', { checkpointId: 2, location: '/work/checkpoints/job/chk-2' });
    assert.equal((await b!.readPointer(jobName, 'file:///work/checkpoints'))?.checkpointId, 2);
  });

  test(`${label}: the lease as stored is readable, also after a release`, async () => {
    const clock = new FakeClock();
    const { stores: [a, b], jobName } = await target.create(2, clock);
    assert.equal(await b!.readLease(jobName), undefined);
    const lease = (await a!.tryAcquire(jobName, 'host:1:a', TTL))!;
    assert.deepEqual(await b!.readLease(jobName), { owner: 'host:1:a', fencingToken: 1n, expiresAt: clock.now() + TTL });
    await a!.release(lease);
    assert.deepEqual(await b!.readLease(jobName), { owner: 'host:1:a', fencingToken: 1n, expiresAt: 0 });
  });

  test(`${label}: a stale holder (zombie) cannot publish after a takeover`, async () => {
    const clock = new FakeClock();
    const { stores: [a, b], jobName } = await target.create(2, clock);
    const zombie = (await a!.tryAcquire(jobName, 'host:1:a', TTL))!;
    await a!.publishPointer(zombie, AT, { checkpointId: 3, location: 'chk-3' });
    clock.advance(TTL + 1); // the zombie is frozen past its lease
    const successor = (await b!.tryAcquire(jobName, 'host:2:b', TTL))!;
    await assert.rejects(a!.publishPointer(zombie, AT, { checkpointId: 4, location: 'chk-4' }), (err: unknown) => {
      assert.ok(err instanceof FencedError);
      assert.match(err.message, /refused to publish checkpoint 4 from 'host:1:a'.*token 1 is stale.*'host:2:b' with fencing token 2/);
      return true;
    });
    assert.deepEqual(await b!.readPointer(jobName, AT), { checkpointId: 3, location: 'chk-3', fencingToken: 1n });
    await b!.publishPointer(successor, AT, { checkpointId: 4, location: 'chk-4b' });
    assert.deepEqual(await a!.readPointer(jobName, AT), { checkpointId: 4, location: 'chk-4b', fencingToken: 2n });
  });

  test(`${label}: an expired holder that nobody replaced may still renew and publish (its token is current)`, async () => {
    const clock = new FakeClock();
    const { stores: [a], jobName } = await target.create(1, clock);
    const lease = (await a!.tryAcquire(jobName, 'host:1:a', TTL))!;
    clock.advance(TTL * 2);
    await a!.publishPointer(lease, AT, { checkpointId: 1, location: 'chk-1' });
    const renewed = await a!.renew(lease, TTL);
    assert.equal(renewed.fencingToken, 1n);
  });

  test(`${label}: instances racing to acquire — exactly one wins`, async () => {
    const clock = new FakeClock();
    const { stores, jobName } = await target.create(8, clock);
    for (let round = 1; round <= 3; round++) {
      const results = await Promise.all(stores.map((store, i) => store.tryAcquire(jobName, `host:${i}:r${round}`, TTL)));
      const winners = results.filter((lease) => lease !== undefined);
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      assert.equal(winners[0]!.fencingToken, BigInt(round));
      clock.advance(TTL + 1);
    }
  });
}
