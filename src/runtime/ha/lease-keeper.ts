/**
 * Keeps a job's lease alive in the background and answers "may I still commit?".
 * The local expiry is measured from the moment each renewal was *sent*, so it is never later
 * than the store's own expiry — the coordinator calls `assertHeld()` before every commit.
 * Past the local expiry, commits wait (LeaseUnconfirmedError) while renewals go on: a store
 * outage longer than the TTL only pauses commits; a renewal that the store accepts (nobody took
 * the lease meanwhile: owner and token unchanged) resumes them, one that it refuses is a loss.
 * A renewal is bounded: each attempt by `attemptTimeoutMs`, the whole renewal by the renewal
 * interval, so one request that is accepted and never answered cannot stop the renewals; and
 * stopping cancels a renewal in flight instead of waiting for it.
 */
import { LeaseLostError, LeaseUnconfirmedError, StreamlineError, TimeoutError } from '../../errors.js';
import type { HaStore, Lease } from '../ha-store.js';
import type { Logger } from '../logger.js';
import type { Clock, Timer } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';

/** Options of LeaseKeeper; only `store`, `lease`, `ttlMs` and `onLost` are required. */
export interface LeaseKeeperOptions {
  readonly store: HaStore;
  /** A lease just returned by `tryAcquire`. */
  readonly lease: Lease;
  readonly ttlMs: number;
  /** Called once when the store says another instance holds the lease; renewing stops. */
  readonly onLost: (error: LeaseLostError) => void;
  /** Called when a renewal succeeds after the local expiry had passed: commits may resume. */
  readonly onConfirmed?: () => void;
  /** Default ttl/3. */
  readonly renewIntervalMs?: number;
  /** `assertHeld` fails this long before the local expiry (clock drift, commit latency). Default min(ttl/10, 1 s). */
  readonly safetyMarginMs?: number;
  /** Bounds one attempt of a renewal (retried within the renewal interval). Default min(renew interval / 2, 3 s). */
  readonly attemptTimeoutMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/** Renews a lease every ttl/3 until stopped or lost. */
export class LeaseKeeper {
  private lease: Lease;
  private localExpiry: number;
  private lostError: LeaseLostError | undefined;
  private timer: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  /** Aborted by `stop()`: cancels a renewal in flight. */
  private readonly cancel = new AbortController();
  private readonly clock: Clock;
  private readonly renewIntervalMs: number;
  private readonly safetyMarginMs: number;
  private readonly attemptTimeoutMs: number;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.lease = options.lease;
    this.localExpiry = options.lease.expiresAt;
    this.clock = options.clock ?? systemClock;
    this.renewIntervalMs = options.renewIntervalMs ?? Math.max(1, Math.floor(options.ttlMs / 3));
    this.safetyMarginMs = options.safetyMarginMs ?? Math.min(options.ttlMs / 10, 1000);
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? Math.max(100, Math.min(this.renewIntervalMs / 2, 3_000));
  }

  /** Starts the renewal timer (unref'd: it never keeps the process alive by itself). */
  start(): this {
    if (!this.stopped && this.timer === undefined && this.lostError === undefined) this.schedule(this.renewIntervalMs);
    return this;
  }

  /** The latest lease (its `fencingToken` goes into checkpoints and commits). */
  current(): Lease {
    return this.lease;
  }

  /** True once the store reported that another instance holds the lease. */
  get lost(): boolean {
    return this.lostError !== undefined;
  }

  /** True while the local expiry (less the safety margin) has passed without a confirmed renewal. */
  get unconfirmed(): boolean {
    return this.lostError === undefined && this.clock.now() >= this.localExpiry - this.safetyMarginMs;
  }

  /**
   * Call before every commit. Throws LeaseLostError once the store reported another holder, and
   * LeaseUnconfirmedError (retriable: commits wait, renewals go on) while the lease may have expired.
   */
  assertHeld(): void {
    if (this.lostError !== undefined) throw this.lostError;
    const now = this.clock.now();
    if (now >= this.localExpiry - this.safetyMarginMs) {
      throw new LeaseUnconfirmedError(
        `Job '${this.lease.jobName}': lease of '${this.lease.owner}' (fencing token ${this.lease.fencingToken}) ` +
          `${now >= this.localExpiry ? 'expired' : 'is about to expire'} at ${new Date(this.localExpiry).toISOString()} without a confirmed renewal (is the HA store reachable?); ` +
          'commits wait until a renewal confirms it, or stop if another instance took it over',
      );
    }
  }

  /** Renews now (also used by tests); resolves after the attempt, whatever its outcome. */
  renewNow(): Promise<void> {
    this.inFlight ??= this.renewOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops renewing and cancels a renewal in flight (it settles at once; never waited for past that). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.cancel.abort(new StreamlineError(`Job '${this.lease.jobName}': lease keeper stopped`));
    await this.inFlight;
  }

  /**
   * Stops and gives the lease up so a standby can take over at once (graceful shutdown). The
   * release is bounded like a renewal: a store that does not answer only delays the takeover to
   * the lease's expiry.
   */
  async release(): Promise<void> {
    await this.stop();
    if (this.lostError !== undefined) return;
    const patience = new AbortController();
    const timer = this.clock.setTimeout(() => patience.abort(new TimeoutError(`Job '${this.lease.jobName}': releasing the lease got no answer within ${this.renewIntervalMs} ms`)), this.renewIntervalMs);
    try {
      await this.options.store.release(this.lease, { signal: patience.signal, attemptTimeoutMs: this.attemptTimeoutMs });
    } finally {
      timer.cancel();
    }
  }

  private schedule(delayMs: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.renewNow().then(() => {
        if (!this.stopped && this.lostError === undefined) this.schedule(this.nextDelay());
      });
    }, delayMs);
  }

  // After a failed renewal, retry sooner so the remaining lease time is not wasted; past the
  // expiry, at a steady pace (a second at most) so commits resume soon after the store is back.
  private nextDelay(): number {
    const remaining = this.localExpiry - this.clock.now();
    if (remaining > this.renewIntervalMs * 2) return this.renewIntervalMs;
    const floor = Math.min(this.renewIntervalMs, 1_000);
    return remaining <= 0 ? floor : Math.max(Math.min(floor, 100), Math.min(this.renewIntervalMs, remaining / 4));
  }

  private async renewOnce(): Promise<void> {
    if (this.stopped || this.lostError !== undefined) return;
    // The whole renewal (its retries included) ends before the next one is due, or when stopped.
    const patience = new AbortController();
    const timer = this.clock.setTimeout(() => patience.abort(new TimeoutError(`Job '${this.lease.jobName}': lease renewal got no answer within ${this.renewIntervalMs} ms`)), this.renewIntervalMs);
    const signal = AbortSignal.any([this.cancel.signal, patience.signal]);
    try {
      // Retries of one renewal write the expiry computed at its start: count from before it.
      const sentAt = this.clock.now();
      const renewed = await this.options.store.renew(this.lease, this.options.ttlMs, { signal, attemptTimeoutMs: this.attemptTimeoutMs });
      if (this.lostError !== undefined || this.stopped) return;
      const wasUnconfirmed = this.unconfirmed;
      this.lease = renewed;
      this.localExpiry = sentAt + this.options.ttlMs;
      if (wasUnconfirmed) {
        this.options.logger?.info({ jobName: this.lease.jobName, fencingToken: renewed.fencingToken.toString() }, 'lease confirmed again by the store; commits resume');
        this.options.onConfirmed?.();
      }
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof LeaseLostError) {
        this.lostError = err;
        this.stopped = true;
        this.options.logger?.error({ err, jobName: this.lease.jobName }, 'lease lost');
        this.options.onLost(err);
        return;
      }
      // Transient store trouble: keep trying; assertHeld refuses commits once the local expiry passes.
      this.options.logger?.warn({ err: (err as Error).message, jobName: this.lease.jobName, localExpiry: this.localExpiry }, 'lease renewal failed; retrying');
    } finally {
      timer.cancel();
    }
  }
}
