/**
 * The errors an HA store raises when it refuses a write, worded for an operator reading logs:
 * who holds the lease now, with which token, and what this instance must do.
 */
import { FencedError, LeaseLostError } from '../../errors.js';
import type { Lease } from '../ha-store.js';

/** What a store knows about the current holder when it refuses. */
export interface HolderView {
  readonly owner?: string;
  readonly fencingToken?: bigint;
  readonly expiresAt?: number;
}

function describeHolder(holder: HolderView | undefined): string {
  if (holder?.owner === undefined) return 'no instance holds it now';
  const until = holder.expiresAt === undefined ? '' : `, expiring ${new Date(holder.expiresAt).toISOString()}`;
  return `it is now held by '${holder.owner}' with fencing token ${holder.fencingToken ?? '?'}${until}`;
}

/** Renewal refused: another instance took the lease (or it was lost and re-issued). */
export function leaseLost(lease: Lease, holder: HolderView | undefined): LeaseLostError {
  return new LeaseLostError(
    `Job '${lease.jobName}': this instance ('${lease.owner}', fencing token ${lease.fencingToken}) lost its lease; ` +
      `${describeHolder(holder)}. Stop processing and do not commit; a standby has taken over.`,
  );
}

/** Pointer publish refused because the caller's fencing token is no longer the current one. */
export function staleToken(lease: Lease, checkpointId: number, holder: HolderView | undefined): FencedError {
  return new FencedError(
    `Job '${lease.jobName}': refused to publish checkpoint ${checkpointId} from '${lease.owner}' — its fencing token ` +
      `${lease.fencingToken} is stale; ${describeHolder(holder)}. This instance is a zombie and must stop.`,
  );
}

/** Pointer publish refused because it would not move the pointer forward. */
export function pointerNotNewer(lease: Lease, checkpoints: string, checkpointId: number, publishedId: number): FencedError {
  return new FencedError(
    `Job '${lease.jobName}': refused to publish checkpoint ${checkpointId} of ${checkpoints} — the published pointer there is already at ` +
      `checkpoint ${publishedId}; the pointer only moves to higher ids.`,
  );
}
