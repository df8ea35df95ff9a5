/**
 * The optimistic-concurrency loop every metadata change goes through (spec "Optimistic
 * Concurrency"), as appends do: plan the change against the head, swap the pointer with the
 * head's version token; on a conflict re-read, plan again on the new head, back off with jitter
 * and retry, bounded. An error that leaves the outcome unknown (a lost response) is resolved by
 * re-reading: the plan says whether its change is in the reloaded table.
 */
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.js';
import { formatIdentifier } from './catalog.js';
import { CommitConflictError, isRetriable } from '../errors.js';
import { nodeTimers } from '../remote/call-with-retry.js';
import { backoffDelayMs } from '../remote/retry-policy.js';
import type { TableMetadata } from './table-metadata.js';

/** What one attempt does: commit `metadata`, or nothing (the head already has the change, or needs none). */
export type CommitPlan<T> =
  | {
      readonly kind: 'commit';
      readonly metadata: TableMetadata;
      /** The outcome once `metadata` is the table's. */
      result(committed: LoadedTable): T;
      /** After an unclear failure: the outcome if the reloaded table shows this attempt landed, else undefined. */
      landed(reloaded: LoadedTable): T | undefined;
    }
  | { readonly kind: 'done'; readonly result: T };

export interface OptimisticCommitOptions {
  /** What is committed, for the error message (`expire snapshots of sink.orders`). */
  readonly what: string;
  /** Start from an already loaded state instead of loading the table. */
  readonly base?: LoadedTable;
  /** Attempts before giving up with CommitConflictError (default 10). */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Called on each conflict before backing off (metrics, logs). */
  readonly onConflict?: (attempt: number, error: unknown) => void;
}

/** An HTTP 4xx other than a conflict or throttling: retrying the same request cannot succeed. */
export function looksPermanent(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429;
}

/** Runs `plan` against the head until its change lands (or is not needed); throws CommitConflictError after `maxAttempts`. */
export async function commitOptimistically<T>(
  catalog: Catalog,
  id: TableIdentifier,
  plan: (head: LoadedTable, attempt: number) => Promise<CommitPlan<T>>,
  options: OptimisticCommitOptions,
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 10;
  const backoff = { baseDelayMs: options.baseDelayMs ?? 100, maxDelayMs: options.maxDelayMs ?? 5000 };
  let head = options.base ?? (await catalog.loadTable(id));
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const planned = await plan(head, attempt);
    if (planned.kind === 'done') return planned.result;
    try {
      return planned.result(await catalog.commitTable(head, planned.metadata));
    } catch (error) {
      lastError = error;
      const reloaded = await catalog.loadTable(id).catch(() => undefined);
      const landed = reloaded === undefined ? undefined : planned.landed(reloaded);
      if (landed !== undefined) return landed;
      if (!isRetriable(error) && looksPermanent(error)) throw error;
      options.onConflict?.(attempt, error);
      if (attempt < maxAttempts) await nodeTimers.sleep(backoffDelayMs(attempt, backoff));
      head = reloaded ?? (await catalog.loadTable(id));
    }
  }
  throw new CommitConflictError(
    `${options.what} (${formatIdentifier(id)}) failed after ${maxAttempts} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
    { cause: lastError },
  );
}
