/**
 * The operator commands beside a run: `check <job>` (preflight) and `inspect <job>` (what the
 * job's table, checkpoints and HA store hold). They load the job and read the settings exactly as
 * a run does; their output is text on stdout. Exit codes: 0 fine, 1 something failed (a ✗ line,
 * or an inspection that could not be read), 2 bad usage or configuration.
 */
import { ConfigError, UsageError } from '../errors.js';
import { intSetting } from '../runtime/int-setting.js';
import { systemClock } from '../runtime/time/system-clock.js';
import { runCheck } from './check/check-command.js';
import { runInspect } from './inspect/inspect-command.js';
import { loadJob } from './job-loader.js';
import type { OperatorCommand } from './command-names.js';

export async function runOperatorCommand(command: OperatorCommand, jobPath: string, settings: Readonly<Record<string, string | undefined>>): Promise<number> {
  // `… | head`: the reader left, nobody is interested in the rest.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));
  try {
    const { job } = await loadJob(jobPath);
    const options = {
      job,
      settings,
      clock: systemClock,
      timeoutMs: intSetting(settings, 'PROBE_TIMEOUT_MS', 10_000, 100),
      out: (line: string) => void process.stdout.write(`${line}\n`),
    };
    return command === 'check' ? await runCheck(options) : await runInspect(options);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return error instanceof ConfigError || error instanceof UsageError ? 2 : 1;
  }
}
