import { ConfigError } from '../errors.js';

/**
 * Reads an integer setting from the merged environment + flags, naming the variable and its flag
 * (the variable in kebab case: `CHECKPOINT_RETAIN` ⇔ `--checkpoint-retain`) when it is invalid.
 */
export function intSetting(settings: Readonly<Record<string, string | undefined>>, env: string, fallback: number, min = 0): number {
  const raw = settings[env];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${env} (--${env.toLowerCase().replaceAll('_', '-')})`, `must be an integer >= ${min}, got '${raw}'`);
  }
  return value;
}
