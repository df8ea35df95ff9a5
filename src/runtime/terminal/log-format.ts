import { ConfigError } from '../../errors.js';

/** How log lines are written: one JSON object per line (for collectors), or lines for people. */
export type LogFormat = 'json' | 'pretty';

/** `LOG_FORMAT`: `json`, `pretty`, or unset/empty (decided by whether stderr is a terminal). */
export function parseLogFormat(raw: string | undefined): LogFormat | undefined {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (value === 'json' || value === 'pretty') return value;
  throw new ConfigError('LOG_FORMAT (--log-format)', `must be 'json' (one JSON object per line) or 'pretty' (lines for people); unset, it is pretty when stderr is a terminal and JSON otherwise. Got '${raw}'`);
}
