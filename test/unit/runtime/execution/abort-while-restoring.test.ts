/**
 * An abort that arrives while a run is still restoring ends the run. Group mode depends on it: a
 * hand-over that runs out of time aborts the run, and the instance rejoins the group only once
 * that run has ended; a lost abort would keep it out of the group for good.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import type { Job } from '../../../../src/runtime/job.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { ParallelJobRunner } from '../../../../src/runtime/parallel/parallel-job-runner.js';

const JOB_URL = new URL('../parallel/support/counting-job.js', import.meta.url).href;

/** A local store whose `highestCheckpointId` (read while a run restores) waits until released. */
class GatedStore extends LocalCheckpointStore {
  private release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  private reached!: () => void;
  /** Resolves once a run is waiting inside its restore. */
  readonly waiting = new Promise<void>((resolve) => (this.reached = resolve));

  override async highestCheckpointId(jobName: string): Promise<number | undefined> {
    this.reached();
    await this.gate;
    return super.highestCheckpointId(jobName);
  }

  open(): void {
    this.release();
  }
}

interface AbortableRun {
  run(): Promise<unknown>;
  abort(error: Error): void;
}

async function assertAbortEndsRestoringRun(start: (store: GatedStore, dir: string) => Promise<AbortableRun>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'abort-restoring-'));
  const store = new GatedStore(join(dir, 'checkpoints'));
  const runner = await start(store, dir);
  const done = runner.run();
  done.catch(() => undefined);
  await store.waiting;
  const abort = new Error('the hand-over did not finish in time');
  runner.abort(abort);
  store.open();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    done.then(
      () => 'resolved',
      (error: unknown) => error,
    ),
    new Promise((resolve) => (timer = setTimeout(() => resolve('still running after 20 s'), 20_000))),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, abort, 'the run ends with the abort error');
}

async function countingJob(dir: string): Promise<{ job: Job; settings: Record<string, string>; flow: Awaited<ReturnType<Job['build']>>['flow'] }> {
  const job = ((await import(JOB_URL)) as { default: Job }).default;
  // Records without end, so that only the abort can end the run.
  const settings = { OUT_DIR: join(dir, 'out'), COUNT: '100000000', RATE: '1000' };
  const plan = await job.build({ jobName: job.name, settings, workDir: dir, logger: silentLogger(), metrics: new MetricsRegistry() });
  return { job, settings, flow: plan.flow };
}

describe('an abort while the run restores', () => {
  it('ends a single-thread run', () =>
    assertAbortEndsRestoringRun(async (store, dir) => {
      const { job, flow } = await countingJob(dir);
      return new JobRunner({ flow, store, checkpoint: job.checkpoint, metrics: new MetricsRegistry(), logger: silentLogger(), deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')) });
    }));

  it('ends a run of parallel subtasks', () =>
    assertAbortEndsRestoringRun(async (store, dir) => {
      const { job, settings, flow } = await countingJob(dir);
      return new ParallelJobRunner({
        flow,
        store,
        checkpoint: job.checkpoint,
        metrics: new MetricsRegistry(),
        logger: silentLogger(),
        deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
        parallelism: 2,
        jobUrl: JOB_URL,
        settings,
        workDir: dir,
        stateBackend: 'heap',
        stateDir: join(dir, 'state'),
        logLevel: 'silent',
      });
    }));
});
