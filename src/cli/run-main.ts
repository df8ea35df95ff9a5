/**
 * What `node dist/run.js <job> [flags]` does once the process is set up (run.ts): runs one job
 * in this process until it finishes (bounded input) or is stopped. Exit codes: 0 done/stopped
 * gracefully, 1 the job failed, 2 bad usage or configuration. `maintain <job>` maintains its
 * tables (maintain-command.ts); `check <job>` and `inspect <job>` are the operator commands
 * (operator-command.ts).
 */
// Only light modules here: a run starts its subtask threads before it loads the runtime (early-subtasks.ts).
import { isOperatorCommand, MAINTAIN_COMMAND } from './command-names.js';
import { prestartSubtasksFor } from './early-subtasks.js';
import { builtInJobs, loadJob } from './job-loader.js';
import { parseRunArgs, runUsage } from './run-flags.js';
import { ConfigError, UsageError } from '../errors.js';
import { createLogger } from '../runtime/logger.js';
import { parseLogFormat } from '../runtime/terminal/log-format.js';

async function main(): Promise<number> {
  if (process.argv[2] === MAINTAIN_COMMAND) {
    const { runMaintainCommand } = await import('./maintain-command.js');
    return runMaintainCommand(process.argv.slice(3), process.env, createLogger({ level: process.env.LOG_LEVEL }));
  }
  const argv = process.argv.slice(2);
  const command = isOperatorCommand(argv[0]) ? argv[0] : undefined;
  let parsed;
  try {
    parsed = parseRunArgs(command === undefined ? argv : argv.slice(1), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${runUsage(builtInJobs().map((j) => `jobs/${j}`))}\n`);
    return 0;
  }
  if (parsed.jobPath === undefined) {
    process.stderr.write(`Missing the job to ${command ?? 'run'}.\n\n${runUsage(builtInJobs().map((j) => `jobs/${j}`))}\n`);
    return 2;
  }
  if (command !== undefined) {
    const { runOperatorCommand } = await import('./operator-command.js');
    return runOperatorCommand(command, parsed.jobPath, parsed.settings);
  }
  let format;
  try {
    format = parseLogFormat(parsed.settings.LOG_FORMAT);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const logger = createLogger({ level: parsed.settings.LOG_LEVEL, ...(format ? { format } : {}) });
  prestartSubtasksFor(parsed.jobPath, parsed.settings);
  try {
    const { runJobProcess } = await import('./job-process.js');
    const { job, url } = await loadJob(parsed.jobPath);
    const exit = await runJobProcess(job, parsed.settings, logger.child({ job: job.name }), url);
    if (exit.code === 1) {
      logger.error({ err: exit.error }, `job failed: ${exit.error.message}`);
      return exit.error instanceof ConfigError ? 2 : 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    logger.error({ err: error }, `failed: ${(error as Error).message}`);
    return 1;
  }
}

// Errors that escape every handler: log them through the structured logger, then fail the job
// (exit 1) — never continue with state that may be half-updated.
const fatal = (kind: string) => (error: unknown) => {
  createLogger().fatal({ err: error }, `${kind}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
};
process.on('uncaughtException', fatal('uncaught exception'));
process.on('unhandledRejection', fatal('unhandled promise rejection'));

process.exitCode = await main();
// Clients (Kafka, AWS) may keep sockets open; the job is over, so leave.
setTimeout(() => process.exit(process.exitCode), 200).unref();
