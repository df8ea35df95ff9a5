/**
 * Standby loop: polls the HA store until this instance holds the job's lease.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { HaStore, Lease } from '../ha-store.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';

/** Unique id of this process for lease ownership: `host:pid:random`. */
export function newLeaseOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Options of waitForLease. */
export interface WaitForLeaseOptions {
  /** Poll interval while another instance holds the lease. Default min(1 s, ttl/5). */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/**
 * Resolves with the lease once acquired; a standby takes over at most `ttl + pollMs` after the
 * active instance stopped renewing. Rejects with the signal's reason when aborted.
 */
export async function waitForLease(store: HaStore, jobName: string, owner: string, ttlMs: number, options: WaitForLeaseOptions = {}): Promise<Lease> {
  const pollMs = options.pollMs ?? Math.min(1000, ttlMs / 5);
  let announced = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const lease = await store.tryAcquire(jobName, owner, ttlMs);
      if (lease !== undefined) return lease;
      if (!announced) options.logger?.info({ jobName, owner, store: store.uri }, 'another instance holds the lease; waiting as standby');
      announced = true;
    } catch (err) {
      options.logger?.warn({ err, jobName }, 'could not reach the HA store; retrying');
    }
    await (options.clock ?? systemClock).sleep(pollMs, options.signal);
  }
}
