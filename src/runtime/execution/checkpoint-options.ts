import { ConfigError } from '../../errors.js';

/** How a job checkpoints. Declared by the job; some fields overridable by flags/env. */
export interface CheckpointOptions {
  /** Time between the end of one checkpoint and the trigger of the next. Default 10 s. */
  readonly intervalMs?: number;
  /** A checkpoint not complete after this long is aborted (counted as failed). Default 60 s. */
  readonly timeoutMs?: number;
  /** Minimum pause between checkpoints, even if one took longer than the interval. Default 0. */
  readonly minPauseMs?: number;
  /** Completed checkpoints kept; older ones are deleted. Default 3. */
  readonly retain?: number;
  /** Consecutive failed checkpoints tolerated before the job fails. Default: unlimited. */
  readonly tolerableFailures?: number;
}

export type CompiledCheckpointOptions = Required<CheckpointOptions>;

/** Fills defaults and validates; errors name the option. */
export function compileCheckpointOptions(options: CheckpointOptions = {}): CompiledCheckpointOptions {
  const compiled = {
    intervalMs: options.intervalMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 60_000,
    minPauseMs: options.minPauseMs ?? 0,
    retain: options.retain ?? 3,
    tolerableFailures: options.tolerableFailures ?? Number.POSITIVE_INFINITY,
  };
  for (const [name, value] of Object.entries(compiled)) {
    if (!(value >= 0) || (name !== 'tolerableFailures' && !Number.isFinite(value))) {
      throw new ConfigError(`checkpoint.${name}`, `must be a non-negative number, got ${String(value)}`);
    }
  }
  if (compiled.intervalMs < 1) throw new ConfigError('checkpoint.intervalMs', 'must be at least 1 ms');
  if (compiled.retain < 1 || !Number.isInteger(compiled.retain)) throw new ConfigError('checkpoint.retain', `must be a positive integer, got ${compiled.retain}`);
  return compiled;
}
