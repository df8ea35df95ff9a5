import type { DataFile } from '../../../iceberg/data-file.js';
import { IcebergTable } from '../../../iceberg/iceberg-table.js';
import {
  SUMMARY_CHECKPOINT_ID,
  SUMMARY_FENCING_TOKEN,
  SUMMARY_JOB_ID,
  SUMMARY_OPERATOR_ID,
  maxCommittedCheckpoint,
  maxFencingToken,
} from '../../../iceberg/snapshot-ancestry.js';
import { FencedError } from '../../../runtime/errors.js';
import type { CommitRequest, Committer, SinkContext } from '../../../runtime/sink.js';
import type { IcebergSinkOptions } from './iceberg-sink-options.js';

/** Signals, from inside an append attempt, that the table already holds this checkpoint. */
class AlreadyCommitted extends Error {}

/**
 * Second phase: one Iceberg append snapshot for everything pending up to a checkpoint. The
 * snapshot summary records job, operator, checkpoint id and fencing token (as Flink's
 * `flink.max-committed-checkpoint-id`), so the committer is idempotent — requests at or below the
 * table's highest committed checkpoint for this operator are skipped — and fenced: if a newer
 * lease holder already committed, the append is refused (re-checked on every rebase).
 */
export async function createIcebergCommitter<T>(options: IcebergSinkOptions<T>, ctx: SinkContext): Promise<Committer<DataFile>> {
  const table = await IcebergTable.open(options.catalog(), options.table, {
    schema: options.schema,
    ...(options.partitionSpec ? { spec: options.partitionSpec } : {}),
  });
  const labels = { job: ctx.jobName, operator: ctx.stepId };
  const operatorId = ctx.stepId;
  /** A newer lease holder already committed: this instance is a zombie and must not publish anything. */
  const assertNotFenced = (metadata: Parameters<typeof maxFencingToken>[0], token: bigint, what: string) => {
    const newest = maxFencingToken(metadata, ctx.jobName, operatorId);
    if (newest !== undefined && newest > token) {
      ctx.metrics.fencedCommits.inc({ job: ctx.jobName, kind: 'iceberg' });
      throw new FencedError(
        `Refusing to ${what} to ${options.table.namespace}.${options.table.name}: an instance with fencing token ${newest} already committed (ours is ${token}). This instance lost its lease.`,
      );
    }
  };
  return {
    async commit(requests: readonly CommitRequest<DataFile>[]) {
      const started = performance.now();
      await table.refresh();
      const token = ctx.fencingToken();
      assertNotFenced(table.metadata, token, 'commit');
      const committedUpTo = maxCommittedCheckpoint(table.metadata, ctx.jobName, operatorId) ?? 0;
      const due = requests.filter((r) => r.checkpointId > committedUpTo);
      if (due.length === 0) {
        ctx.logger.info({ checkpoints: requests.map((r) => r.checkpointId), committedUpTo }, 'already in the table; skipping re-commit');
        return;
      }
      const checkpointId = Math.max(...due.map((r) => r.checkpointId));
      const files = due.flatMap((r) => r.committables);
      if (files.length === 0) return;
      try {
        const result = await table.append(files, {
          summary: {
            [SUMMARY_JOB_ID]: ctx.jobName,
            [SUMMARY_OPERATOR_ID]: operatorId,
            [SUMMARY_CHECKPOINT_ID]: String(checkpointId),
            [SUMMARY_FENCING_TOKEN]: token.toString(),
          },
          ...(options.maxCommitAttempts ? { maxAttempts: options.maxCommitAttempts } : {}),
          precondition: (current) => {
            assertNotFenced(current, token, `commit checkpoint ${checkpointId}`);
            if ((maxCommittedCheckpoint(current, ctx.jobName, operatorId) ?? 0) >= checkpointId) throw new AlreadyCommitted();
          },
          onConflict: () => ctx.metrics.sinkCommitConflicts.inc(labels),
        });
        ctx.metrics.sinkCommits.inc(labels);
        ctx.metrics.sinkCommitDuration.observe(labels, (performance.now() - started) / 1000);
        ctx.logger.info(
          { checkpoint: checkpointId, files: files.length, rows: files.reduce((n, f) => n + f.recordCount, 0), snapshot: result.snapshot['snapshot-id'].toString(), attempts: result.attempts },
          'committed Iceberg snapshot',
        );
      } catch (error) {
        if (error instanceof AlreadyCommitted) return;
        throw error;
      }
    },
    async close() {},
  };
}
