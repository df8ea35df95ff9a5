/**
 * The committables a job's retained checkpoints still hold pending, read without running the job:
 * a sink's state in a checkpoint is its whole list of pending commits (pending-commits.ts), and a
 * restore from that checkpoint commits them again. So as long as a checkpoint is retained, the
 * files its sinks list must survive maintenance, committed to the table or not.
 */
import type { CheckpointStore } from '../checkpoint-store.js';
import { decodePendingCommits, PENDING_SECTION } from '../execution/pending-commits.js';
import { baseTaskId } from '../execution/task-id.js';
import { decodeStateEnvelope } from '../execution/state-envelope.js';
import type { SinkNode } from '../graph/graph-node.js';
import type { Logger } from '../logger.js';

/** Committables per sink step id, over every completed checkpoint of `scopes`. */
export async function checkpointedCommittables(store: CheckpointStore, scopes: readonly string[], sinks: readonly SinkNode[], logger: Logger): Promise<Map<string, unknown[]>> {
  const bySink = new Map<string, unknown[]>(sinks.map((s) => [s.id, []]));
  for (const scope of scopes) {
    const completed = await store.listCompleted(scope, (checkpointId, reason) => logger.debug({ scope, checkpoint: checkpointId, reason }, 'checkpoint not complete; its files are protected by the safety age only'));
    for (const checkpoint of completed) {
      const { checkpointId } = checkpoint.metadata;
      for (const [taskId, handle] of Object.entries(checkpoint.metadata.operators)) {
        const sink = sinks.find((s) => s.id === baseTaskId(taskId));
        if (sink === undefined) continue;
        const sections = decodeStateEnvelope(await store.readState(scope, checkpointId, handle), taskId);
        const pending = decodePendingCommits(sections.get(PENDING_SECTION), sink.sink.committableSerializer, taskId);
        bySink.get(sink.id)!.push(...pending.flatMap((request) => request.committables));
      }
    }
  }
  return bySink;
}
