import { ConfigError } from '../../errors.js';
import type { Dataflow } from '../graph/dataflow.js';

/**
 * KEYED_EXCHANGE: whether a keyed step declared source-partitioned (`keyBy(key, {
 * sourcePartitioned: true })`) trusts it. `declared` (default) keeps each key in the subtask of its
 * split; `always` sends every keyed step's records through the keyed exchange, for a topic whose
 * producer does not key its messages by the step's key (round-robin, or another field).
 */
export type KeyedExchange = 'declared' | 'always';

export function parseKeyedExchange(raw: string | undefined): KeyedExchange {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'declared') return 'declared';
  if (value === 'always') return 'always';
  throw new ConfigError('KEYED_EXCHANGE', `must be 'declared' (keyed steps declared source-partitioned keep each key in its split's subtask) or 'always' (every keyed step exchanges records by key), got '${raw}'`);
}

/** Applies the setting to a freshly built flow (the coordinator's and every subtask's alike). */
export function applyKeyedExchange(flow: Dataflow, setting: KeyedExchange): void {
  if (setting === 'always') flow.exchangeEveryKey();
}
