import { availableParallelism } from 'node:os';
import { ConfigError } from '../../errors.js';

/** PARALLELISM: subtasks per process; `auto` (default) is one per core. */
export function parseParallelism(raw: string | undefined): number {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'auto') return Math.max(1, availableParallelism());
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new ConfigError('PARALLELISM (--parallelism)', `must be 'auto' (one subtask per core) or a whole number from 1 to 256, got '${raw}'`);
  return n;
}
