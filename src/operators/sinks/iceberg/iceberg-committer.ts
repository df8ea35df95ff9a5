import type { DataFile } from '../../../iceberg/data-file.js';
import { IcebergTable } from '../../../iceberg/iceberg-table.js';
import {
  SUMMARY_CHECKPOINT_ID,
  SUMMARY_CHECKPOINT_SCOPE,
  SUMMARY_FENCING_TOKEN,
  SUMMARY_JOB_ID,
  SUMMARY_OPERATOR_ID,
  SUMMARY_SPLITS,
  maxCommittedCheckpoint,
  maxFencingToken,
} from '../../../iceberg/snapshot-ancestry.js';
import { currentSnapshot, type TableMetadata } from '../../../iceberg/table-metadata.js';
import { FencedError, StreamlineError } from '../../../errors.js';
import type { CommitOptions, CommitRequest, CommittedSplit, Committer, SinkContext, SplitProgress } from '../../../runtime/sink.js';
import type { IcebergSinkOptions } from './iceberg-sink-options.js';
import { splitChain } from './split-chain.js';
import { encodeSplitMap, readSplitMap, type SplitMap } from './split-progress-summary.js';

/** Signals, from inside an append attempt, that the table already holds this checkpoint. */
class AlreadyCommitted extends Error {}

/** Signals, from inside an append attempt, that some of the requests are in the table already: start over with the rest. */
class PartlyCommitted extends Error {}

/**
 * Without new data, split progress alone is published on the final checkpoint of a run, or after
 * this many checkpoints (as Flink's `flink.max-continuous-empty-commits`): the table does not
 * gain an empty snapshot per checkpoint, and an instance taking a split over does not have to
 * re-read more than this many checkpoints' worth of records that produced no rows.
 */
const MAX_CHECKPOINTS_WITHOUT_COMMIT = 10;

/**
 * Second phase: one Iceberg append snapshot for everything pending up to a checkpoint. The
 * snapshot summary records job, operator, checkpoint scope and id, and — when the source reads
 * splits — the whole split map (`streamline.splits`, see split-progress-summary.ts).
 *
 * One instance (standby mode): idempotent — requests at or below the table's highest committed
 * checkpoint of this scope are skipped — and fenced by the lease's token: if a newer lease holder
 * already committed, the append is refused (re-checked on every rebase).
 *
 * Several instances (group mode, after `claimSplits`): every commit must continue each claimed
 * split exactly where the table has it (same position and checkpoint), checked on every rebase;
 * a table that moved on for any of them means another instance owns it now — FencedError. Our
 * own commit that landed unseen (lost response, crash) is recognized by its checkpoint and not
 * repeated.
 */
export async function createIcebergCommitter<T>(options: IcebergSinkOptions<T>, ctx: SinkContext): Promise<Committer<DataFile>> {
  const table = await IcebergTable.open(options.catalog(), options.table, {
    schema: options.schema,
    ...(options.partitionSpec ? { spec: options.partitionSpec } : {}),
  });
  const labels = { job: ctx.jobName, operator: ctx.stepId };
  const operatorId = ctx.stepId;
  const tableName = `${options.table.namespace}.${options.table.name}`;
  const { changes, notInJob } = table.schemaUpdate;
  if (changes.length > 0) ctx.logger.info({ table: tableName, changes, schemaId: table.schema['schema-id'] }, 'evolved the table schema to the job schema');
  if (notInJob.length > 0) ctx.logger.warn({ table: tableName, columns: notInJob }, 'optional table columns the job does not declare are written as null');
  /** Group mode: each claimed split → what the table held of it when this committer last published (or claimed). */
  let claimed: Map<string, CommittedSplit | undefined> | undefined;
  /** The split map as of the last claim or commit (retention keeps the checkpoints it names). */
  let lastSeen: SplitMap = new Map();
  let checkpointsWithoutCommit = 0;

  /** A newer lease holder already committed: this instance is a zombie and must not publish anything. */
  const assertNotFenced = (metadata: TableMetadata, token: bigint, what: string) => {
    const newest = maxFencingToken(metadata, ctx.jobName, operatorId);
    if (newest !== undefined && newest > token) {
      ctx.metrics.fencedCommits.inc({ job: ctx.jobName, kind: 'iceberg' });
      throw new FencedError(`Refusing to ${what} to ${tableName}: an instance with fencing token ${newest} already committed (ours is ${token}). This instance lost its lease.`);
    }
  };
  const splitsFenced = (moved: readonly string[]) => {
    ctx.metrics.fencedCommits.inc({ job: ctx.jobName, kind: 'iceberg' });
    return new FencedError(
      `Refusing to commit to ${tableName}: another instance published progress for ${moved.join(', ')} since this one took them over, so it owns them now. This run stops; the instance continues with the splits the group gives it.`,
    );
  };
  const summaryOf = (checkpointId: number, extra: Record<string, string>): Record<string, string> => ({
    [SUMMARY_JOB_ID]: ctx.jobName,
    [SUMMARY_OPERATOR_ID]: operatorId,
    [SUMMARY_CHECKPOINT_SCOPE]: ctx.checkpointScope,
    [SUMMARY_CHECKPOINT_ID]: String(checkpointId),
    ...extra,
  });
  /** The head's split map with `entries` laid over it (the other splits carried over as they are). */
  const withEntries = (head: TableMetadata, entries: Iterable<[string, CommittedSplit | undefined]>): SplitMap => {
    const map = new Map(readSplitMap(head, ctx.jobName, operatorId));
    for (const [split, entry] of entries) if (entry !== undefined) map.set(split, entry);
    return map;
  };
  const progressEntries = (progress: SplitProgress): [string, CommittedSplit][] =>
    Object.entries(progress.positions).map(([split, position]) => [split, { position, checkpoint: progress.checkpoint }]);
  const reportOutput = () => {
    const totalRows = Number(currentSnapshot(table.metadata)?.summary['total-records']);
    ctx.observer?.output(ctx.stepId, {
      kind: 'iceberg',
      name: tableName,
      location: table.location,
      catalog: options.catalogInfo?.description ?? 'Iceberg catalog',
      ...(options.catalogInfo?.region ? { region: options.catalogInfo.region } : {}),
      metadataLocation: table.state.metadataLocation,
      totalRows: Number.isFinite(totalRows) ? totalRows : 0,
    });
  };
  reportOutput();
  const observeCommit = (started: number, checkpointId: number, files: readonly DataFile[], snapshotId: bigint, attempts: number) => {
    const rows = files.reduce((n, f) => n + f.recordCount, 0);
    const durationMs = ctx.clock.monotonic() - started;
    ctx.metrics.sinkCommits.inc(labels);
    ctx.metrics.sinkCommittedRows.inc(labels, rows);
    ctx.metrics.sinkCommitDuration.observe(labels, durationMs / 1000);
    ctx.logger.info({ checkpoint: checkpointId, files: files.length, rows, snapshot: snapshotId.toString(), attempts }, 'committed Iceberg snapshot');
    ctx.observer?.committed(ctx.stepId, {
      checkpointId,
      id: snapshotId.toString(),
      rows,
      files: files.length,
      bytes: files.reduce((n, f) => n + f.fileSizeInBytes, 0),
      committedAt: ctx.clock.now(),
      durationMs,
      attempts,
    });
    reportOutput();
  };

  /** One instance holding the job's lease. */
  const commitExclusive = async (requests: readonly CommitRequest<DataFile>[]) => {
    const started = ctx.clock.monotonic();
    await table.refresh();
    lastSeen = readSplitMap(table.metadata, ctx.jobName, operatorId);
    const token = ctx.fencingToken();
    assertNotFenced(table.metadata, token, 'commit');
    const committedUpTo = maxCommittedCheckpoint(table.metadata, ctx.jobName, operatorId, ctx.checkpointScope) ?? 0;
    const due = requests.filter((r) => r.checkpointId > committedUpTo);
    if (due.length === 0) {
      ctx.logger.info({ checkpoints: requests.map((r) => r.checkpointId), committedUpTo }, 'already in the table; skipping re-commit');
      return;
    }
    const last = due.reduce((a, b) => (b.checkpointId > a.checkpointId ? b : a));
    const checkpointId = last.checkpointId;
    const files = due.flatMap((r) => r.committables);
    if (files.length === 0) return;
    try {
      const result = await table.append(files, {
        summary: (head) => summaryOf(checkpointId, {
          [SUMMARY_FENCING_TOKEN]: token.toString(),
          ...(last.splits ? { [SUMMARY_SPLITS]: encodeSplitMap(withEntries(head, progressEntries(last.splits))) } : {}),
        }),
        ...(options.maxCommitAttempts ? { maxAttempts: options.maxCommitAttempts } : {}),
        precondition: (current) => {
          assertNotFenced(current, token, `commit checkpoint ${checkpointId}`);
          if ((maxCommittedCheckpoint(current, ctx.jobName, operatorId, ctx.checkpointScope) ?? 0) >= checkpointId) throw new AlreadyCommitted();
        },
        onConflict: () => ctx.metrics.sinkCommitConflicts.inc(labels),
      });
      lastSeen = readSplitMap(result.table.metadata, ctx.jobName, operatorId);
      observeCommit(started, checkpointId, files, result.snapshot['snapshot-id'], result.attempts);
    } catch (error) {
      if (error instanceof AlreadyCommitted) return;
      throw error;
    }
  };

  /** Group mode: several instances, each continuing the splits it claimed. */
  const commitClaimed = async (base: Map<string, CommittedSplit | undefined>, requests: readonly CommitRequest<DataFile>[], commitOptions: CommitOptions) => {
    const sorted = [...requests].sort((a, b) => a.checkpointId - b.checkpointId);
    for (const request of sorted) {
      const missing = [...base.keys()].filter((split) => request.splits?.positions[split] === undefined);
      // Without a position per claimed split the table could not tell this commit from the previous one.
      if (missing.length > 0) throw new StreamlineError(`internal: commit request of checkpoint ${request.checkpointId} has no source position for claimed split(s) ${missing.join(', ')}`);
    }
    checkpointsWithoutCommit += sorted.length;
    for (;;) {
      const started = ctx.clock.monotonic();
      await table.refresh();
      const current = readSplitMap(table.metadata, ctx.jobName, operatorId);
      lastSeen = current;
      const chain = splitChain(base, sorted);
      const landed = chain.match(current);
      if (landed.kind === 'moved') throw splitsFenced(landed.splits);
      // Our own commit that landed unseen: what it published is the base now.
      for (const [split, entry] of chain.point(landed.index)) base.set(split, entry);
      const remaining = sorted.slice(landed.index);
      if (remaining.length === 0) {
        checkpointsWithoutCommit = 0;
        return;
      }
      const last = remaining.at(-1)!;
      const files = remaining.flatMap((r) => r.committables);
      if (files.length === 0) {
        const advanced = [...base].some(([split, entry]) => last.splits?.positions[split] !== undefined && last.splits.positions[split] !== entry?.position);
        if (!advanced) return;
        if (!commitOptions.final && checkpointsWithoutCommit < MAX_CHECKPOINTS_WITHOUT_COMMIT) return;
      }
      const rest = splitChain(base, remaining);
      const published = rest.point(remaining.length);
      try {
        const result = await table.append(files, {
          summary: (head) => summaryOf(last.checkpointId, { [SUMMARY_SPLITS]: encodeSplitMap(withEntries(head, published)) }),
          ...(options.maxCommitAttempts ? { maxAttempts: options.maxCommitAttempts } : {}),
          precondition: (head) => {
            const state = rest.match(readSplitMap(head, ctx.jobName, operatorId));
            if (state.kind === 'moved') throw splitsFenced(state.splits);
            if (state.index === remaining.length) throw new AlreadyCommitted();
            if (state.index > 0) throw new PartlyCommitted();
          },
          onConflict: () => ctx.metrics.sinkCommitConflicts.inc(labels),
        });
        for (const [split, entry] of published) base.set(split, entry);
        lastSeen = readSplitMap(result.table.metadata, ctx.jobName, operatorId);
        checkpointsWithoutCommit = 0;
        observeCommit(started, last.checkpointId, files, result.snapshot['snapshot-id'], result.attempts);
        return;
      } catch (error) {
        if (error instanceof AlreadyCommitted || error instanceof PartlyCommitted) continue;
        throw error;
      }
    }
  };

  return {
    async committedSplits() {
      await table.refresh();
      lastSeen = readSplitMap(table.metadata, ctx.jobName, operatorId);
      return lastSeen;
    },
    async claimSplits(splits) {
      await table.refresh();
      lastSeen = readSplitMap(table.metadata, ctx.jobName, operatorId);
      claimed = new Map(splits.map((split) => [split, lastSeen.get(split)]));
      checkpointsWithoutCommit = 0;
      const held = new Map<string, CommittedSplit>();
      for (const [split, entry] of claimed) if (entry !== undefined) held.set(split, entry);
      return held;
    },
    referencedCheckpoints(scope) {
      const ids = new Set<number>();
      for (const { checkpoint } of lastSeen.values()) if (checkpoint.scope === scope) ids.add(checkpoint.checkpointId);
      return ids;
    },
    async commit(requests, commitOptions = {}) {
      if (claimed !== undefined) await commitClaimed(claimed, requests, commitOptions);
      else await commitExclusive(requests);
    },
    async close() {},
  };
}
