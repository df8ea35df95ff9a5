import type { ResourceLimits } from 'node:worker_threads';
import { ConfigError } from '../../errors.js';
import type { StateBackendKind } from '../state/state-backend-choice.js';

/** The setting that limits each subtask thread's V8 heap, as error messages name it. */
export const SUBTASK_HEAP_SETTING = 'SUBTASK_HEAP_MB (--subtask-heap-mb)';

/** Smallest heap a subtask may be given: the job's modules and one batch in flight need about this much. */
const MIN_HEAP_MB = 64;

/**
 * A subtask's heap when its keyed state is on disk and SUBTASK_HEAP_MB is unset: what such a
 * subtask keeps alive is its modules, batches in flight and buffers (32 MiB in a heap snapshot at
 * 3 M keys; 40–45 MiB in use at the peak under this limit at 10 M keys), and under V8's own limit
 * its heap grew to 130–150 MiB of mostly garbage. A limit also makes V8 grow the heap by smaller
 * steps, so this one costs no measurable CPU (BENCHMARKS.md, session 13).
 */
export const DISK_STATE_SUBTASK_HEAP_MB = 160;

/** The heap limit when SUBTASK_HEAP_MB is unset or `auto`: DISK_STATE_SUBTASK_HEAP_MB on disk; with heap state, whose size only the job knows, V8's own. */
export function defaultSubtaskHeapMb(backend: StateBackendKind): number | undefined {
  return backend === 'disk' ? DISK_STATE_SUBTASK_HEAP_MB : undefined;
}

/**
 * SUBTASK_HEAP_MB: the V8 heap (young + old generation) of each subtask thread, in MiB, as
 * Flink's task heap; undefined (unset or `auto`: see defaultSubtaskHeapMb) when not given.
 * Without a limit V8 lets garbage grow far past what the subtask keeps alive (its own limit is a
 * quarter of the machine's memory).
 */
export function parseSubtaskHeapMb(raw: string | undefined): number | undefined {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'auto') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < MIN_HEAP_MB) throw new ConfigError(SUBTASK_HEAP_SETTING, `must be 'auto' (V8's default limit) or a whole number of MiB >= ${MIN_HEAP_MB}, got '${raw}'`);
  return n;
}

/** Each subtask thread's heap limit for these settings: SUBTASK_HEAP_MB, else defaultSubtaskHeapMb(backend). */
export function subtaskHeapMbSetting(raw: string | undefined, backend: StateBackendKind): number | undefined {
  return parseSubtaskHeapMb(raw) ?? defaultSubtaskHeapMb(backend);
}

/**
 * The worker limits for a heap of `heapMb`: an eighth of it (8 to 32 MiB) is the young
 * generation, where short-lived batch garbage dies cheaply; the rest is the old generation, whose
 * limit makes V8 collect garbage before the heap grows instead of after.
 */
export function subtaskResourceLimits(heapMb: number): ResourceLimits {
  const young = Math.min(32, Math.max(8, Math.floor(heapMb / 8)));
  return { maxYoungGenerationSizeMb: young, maxOldGenerationSizeMb: heapMb - young };
}

/** What a subtask that ran out of its heap reports, naming the setting and the ways out. */
export function subtaskOutOfHeapMessage(heapMb: number): string {
  return (
    `ran out of heap memory: its V8 heap is limited to ${heapMb} MiB by ${SUBTASK_HEAP_SETTING} (unset: ${DISK_STATE_SUBTASK_HEAP_MB} MiB with keyed state on disk). ` +
    'Raise it (each subtask takes up to that much of the process memory), give each subtask less keyed state with more subtasks (PARALLELISM), ' +
    'or keep large keyed state on disk (STATE_BACKEND=disk)'
  );
}
