/**
 * `node dist/run.js check <job>`: a preflight of everything a run of the job will touch, one line
 * per item, ✓ or ✗ with the fix — settings (read by the same loaders as a run), the Kafka
 * cluster, the checkpoint location, the table bucket and tables, the HA store and its pointer.
 * Exit 0 only when every item passed.
 */
import type { Job } from '../../runtime/job.js';
import type { Clock } from '../../runtime/time/clock.js';
import { checkCheckpointLocation } from './checkpoint-checks.js';
import { formatCheckResult, skipped, type CheckResult } from './check-result.js';
import { checkHa } from './ha-checks.js';
import { checkKafka } from './kafka-checks.js';
import { checkSettings } from './settings-checks.js';
import { checkTables } from './table-checks.js';

export interface CheckCommandOptions {
  readonly job: Job;
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  /** Deadline of each remote call. */
  readonly timeoutMs: number;
  /** Prints one line (stdout). */
  readonly out: (line: string) => void;
}

/** Runs every check, printing each line as it is decided; returns the exit code (0: all passed, 1: something failed). */
export async function runCheck(options: CheckCommandOptions): Promise<number> {
  const { job, settings, clock, timeoutMs } = options;
  const results: CheckResult[] = [];
  const report = (result: CheckResult) => {
    results.push(result);
    options.out(formatCheckResult(result));
  };
  options.out(`Preflight of job '${job.name}' (each remote call has ${timeoutMs} ms):`);

  const checked = await checkSettings(job, settings);
  checked.results.forEach(report);

  if (checked.kafka !== undefined) {
    for await (const result of checkKafka({ config: checked.kafka, topic: checked.topic, clock, timeoutMs })) report(result);
  }
  const checkpoints = checked.checkpoints === undefined ? skipped('checkpoints (CHECKPOINT_URI)', 'not checked: fix CHECKPOINT_URI first') : await checkCheckpointLocation({ location: checked.checkpoints, settings, clock, timeoutMs });
  report(checkpoints);
  if (checked.catalog !== undefined) {
    for await (const result of checkTables({ setting: checked.catalog, tables: checked.tables, settings, clock, timeoutMs })) report(result);
  }
  if (checked.process?.scaleOut === 'group') {
    report(skipped('HA store (DYNAMODB_TABLE)', 'not used with SCALE_OUT=group: the table fences instances per partition'));
  } else if (checked.process !== undefined) {
    const ha = checkHa({ jobName: job.name, settings, workDir: checked.process.workDir, checkpointUri: checked.process.checkpointUri, checkpointsReachable: checkpoints.status === 'pass', clock, timeoutMs });
    for await (const result of ha) report(result);
  }

  const failed = results.filter((r) => r.status === 'fail').length;
  const checkedCount = results.filter((r) => r.status !== 'skipped').length;
  options.out(failed === 0 ? `All ${checkedCount} checks passed.` : `${failed} of ${checkedCount} checks failed.`);
  return failed === 0 ? 0 : 1;
}
