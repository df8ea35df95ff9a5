/**
 * One maintenance pass over a job: what `node dist/run.js maintain <job>` runs, and what a running
 * job runs every MAINTAIN_INTERVAL_MS between checkpoints.
 *
 * 1. Checkpoint scopes of group-mode instances that left (`<job>.i-…`): a scope that no output's
 *    commits name and that has not changed for the safety age is deleted — nobody restores from
 *    it any more (group mode restores only what the table names).
 * 2. The committables the remaining scopes' checkpoints hold pending are read
 *    (checkpointed-committables.ts): every sink's maintainer must keep them.
 * 3. Every sink that offers a maintainer maintains its output (compaction, snapshot expiry,
 *    orphan files), keeping those committables.
 */
import type { CheckpointStore } from '../checkpoint-store.js';
import { isInstanceScopeOf } from '../checkpoint/instance-scope.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { SinkNode } from '../graph/graph-node.js';
import type { Logger } from '../logger.js';
import type { OutputMaintainer, OutputMaintenanceReport } from '../output-maintenance.js';
import type { Clock } from '../time/clock.js';
import { checkpointedCommittables } from './checkpointed-committables.js';

export interface MaintenancePassOptions {
  readonly flow: Dataflow;
  readonly store: CheckpointStore;
  readonly logger: Logger;
  readonly clock: Clock;
  /** An instance's scope is deleted only when nothing in it changed for this long (the orphan-file safety age). */
  readonly scopeMinAgeMs: number;
}

export interface MaintenancePassResult {
  /** Scopes of instances that left, deleted. */
  readonly discardedScopes: readonly string[];
  /** Scopes still holding checkpoints of instances (kept: named by the output, or recently active). */
  readonly keptScopes: readonly string[];
  /** Committables kept because retained checkpoints hold them pending, per sink. */
  readonly pendingCommittables: Readonly<Record<string, number>>;
  readonly outputs: readonly OutputMaintenanceReport[];
}

export async function runMaintenancePass(options: MaintenancePassOptions): Promise<MaintenancePassResult> {
  const { flow, store, logger, clock } = options;
  const jobName = flow.name;
  const sinks = flow.nodesOf('sink').filter((s) => s.sink.createMaintainer !== undefined);
  const maintainers: [SinkNode, OutputMaintainer<unknown>][] = [];
  try {
    for (const sink of sinks) {
      maintainers.push([sink, await sink.sink.createMaintainer!({ jobName, stepId: sink.id, logger: logger.child({ step: sink.id }), clock })]);
    }
    const named = new Set<string>();
    for (const [, maintainer] of maintainers) for (const ref of await maintainer.namedCheckpoints()) named.add(ref.scope);
    const discardedScopes: string[] = [];
    const keptScopes: string[] = [];
    const cutoff = clock.now() - options.scopeMinAgeMs;
    for (const { scope, lastModifiedMs } of await store.listScopes(`${jobName}.`)) {
      if (!isInstanceScopeOf(jobName, scope)) continue;
      if (named.has(scope) || lastModifiedMs >= cutoff) {
        keptScopes.push(scope);
        continue;
      }
      await store.discardScope(scope);
      discardedScopes.push(scope);
      logger.info({ scope, lastModified: new Date(lastModifiedMs).toISOString() }, 'deleted the checkpoints of an instance that left (its output names none of them)');
    }
    const inUse = await checkpointedCommittables(store, [jobName, ...keptScopes], maintainers.map(([sink]) => sink), logger);
    const outputs: OutputMaintenanceReport[] = [];
    for (const [sink, maintainer] of maintainers) outputs.push(await maintainer.maintain(inUse.get(sink.id) ?? []));
    const pendingCommittables = Object.fromEntries([...inUse].map(([id, committables]) => [id, committables.length]));
    return { discardedScopes, keptScopes, pendingCommittables, outputs };
  } finally {
    for (const [sink, maintainer] of maintainers) await maintainer.close().catch((error: unknown) => logger.warn({ sink: sink.id, err: (error as Error).message }, 'closing a maintainer failed'));
  }
}
