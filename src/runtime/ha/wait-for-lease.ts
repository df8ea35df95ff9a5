/**
 * Standby loop: polls the HA store until this instance holds the job's lease.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { HaStore, Lease } from '../ha-store.js';
import type { Logger } from '../logger.js';

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
    await sleep(pollMs, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
