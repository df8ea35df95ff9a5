/**
 * The safety age of maintenance, shared by the runtime (checkpoint scopes of instances that
 * left) and the sinks (orphan files): nothing younger is ever deleted as unreferenced, because
 * what is in flight — a checkpoint being written, a commit landing — cannot be named yet.
 */

/** Default safety age: 3 days, as Iceberg's `remove_orphan_files`. */
export const DEFAULT_ORPHAN_MIN_AGE_MS = 3 * 24 * 3_600_000;

/** Lowest safety age accepted: a checkpoint in flight must never look orphaned. */
export const MIN_ORPHAN_MIN_AGE_MS = 60_000;
