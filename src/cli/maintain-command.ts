/**
 * `node dist/run.js maintain <job> [flags]`: one maintenance pass over a job's tables and
 * checkpoints, without running the job (runtime/maintenance/maintenance-pass.ts) — deletes the
 * checkpoints of group-mode instances that left, then, per table, compacts small files, expires
 * snapshots and removes orphan files, keeping every file a retained checkpoint still holds pending.
 * Safe beside running instances of the job: every table change is an optimistic commit, and
 * nothing younger than MAINTAIN_ORPHAN_MIN_AGE_MS is deleted as unreferenced.
 *
 * Takes the job's own settings (the same flags and environment as running it). Prints the report
 * as one JSON object on stdout; logs go to stderr. Exit codes: 0 done, 1 a task failed, 2 bad
 * usage or configuration.
 */
import { join, resolve } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { checkpointStoreFromUri } from '../runtime/checkpoint/checkpoint-store-from-uri.js';
import type { Logger } from '../runtime/logger.js';
import { runMaintenancePass } from '../runtime/maintenance/maintenance-pass.js';
import { MetricsRegistry } from '../runtime/metrics-registry.js';
import { systemClock } from '../runtime/time/system-clock.js';
import { builtInJobs, loadJob } from './job-loader.js';
import { orphanMinAgeSetting } from './maintenance-schedule.js';
import { MAINTAIN_COMMAND } from './command-names.js';
import { parseRunArgs, runUsage } from './run-flags.js';

export function maintainUsage(): string {
  return [
    'Usage: node dist/run.js maintain <job> [flags]',
    '',
    "One maintenance pass over the job's tables and checkpoints: deletes the checkpoints of group-mode",
    'instances that left; compacts small data files, expires snapshots and removes orphan files',
    '(MAINTAIN_TASKS; on S3 Tables only the table\'s maintenance configuration is set by default).',
    'Files that retained checkpoints still hold pending are never deleted. Prints a JSON report.',
    'Takes the same flags and environment as running the job; the MAINTAIN_* flags below tune it.',
    '',
    runUsage(builtInJobs().map((j) => `jobs/${j}`)).split('\n').slice(3).join('\n'),
  ].join('\n');
}

/** Runs the subcommand; returns the exit code. `argv` follows `maintain`. */
export async function runMaintainCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, logger: Logger): Promise<number> {
  let parsed;
  try {
    parsed = parseRunArgs(argv, env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${maintainUsage()}\n`);
    return 0;
  }
  if (parsed.jobPath === undefined) {
    process.stderr.write(`Missing the job to maintain.\n\n${maintainUsage()}\n`);
    return 2;
  }
  const { settings } = parsed;
  try {
    const { job } = await loadJob(parsed.jobPath);
    const jobLogger = logger.child({ job: job.name, command: MAINTAIN_COMMAND });
    const workDir = resolve(settings.STREAMLINE_WORK_DIR ?? '.streamline');
    const scopeMinAgeMs = orphanMinAgeSetting(settings);
    const store = checkpointStoreFromUri(settings.CHECKPOINT_URI ?? `file://${join(workDir, 'checkpoints')}`, { logger: jobLogger, env: settings });
    const metrics = new MetricsRegistry({ defaultMetrics: false, clock: systemClock });
    const plan = await job.build({ jobName: job.name, settings, workDir, logger: jobLogger, metrics });
    const result = await runMaintenancePass({ flow: plan.flow, store, logger: jobLogger, clock: systemClock, scopeMinAgeMs });
    process.stdout.write(`${JSON.stringify({ job: job.name, ...result }, null, 2)}\n`);
    return result.outputs.some((o) => o.failures.length > 0) ? 1 : 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    logger.error({ err: error }, `maintain failed: ${(error as Error).message}`);
    return 1;
  }
}
