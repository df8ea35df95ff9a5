import { ConfigError } from '../../errors.js';

/** Where keyed state lives: `heap` (default: fastest, bounded by memory) or `disk` (LevelDB: bounded by disk). */
export type StateBackendKind = 'heap' | 'disk';

/** STATE_BACKEND, falling back to the job's choice, then to `heap`; anything else names the setting. */
export function parseStateBackend(raw: string | undefined, jobDefault: StateBackendKind | undefined): StateBackendKind {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '') return jobDefault ?? 'heap';
  if (value === 'heap' || value === 'disk') return value;
  throw new ConfigError('STATE_BACKEND (--state-backend)', `must be 'heap' (keyed state in memory) or 'disk' (keyed state in LevelDB, for state larger than memory), got '${raw}'`);
}
