/** Worker thread entry: runs keyed-state snapshot jobs (see snapshot-files.ts) against a store opened from its spec. */
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { CheckpointStore } from '../../checkpoint-store.js';
import { checkpointStoreFromUri } from '../../checkpoint/checkpoint-store-from-uri.js';
import { DeltaPriority } from './delta-priority.js';
import { writeSnapshotFiles } from './snapshot-files.js';
import type { ServePortMessage } from '../../port-serving-worker.js';
import { logBuffers, type SnapshotRequest, type SnapshotResponse } from './snapshot-worker-protocol.js';

const stores = new Map<string, CheckpointStore>();
const priority = new DeltaPriority();

/** Answers the requests that arrive on `port`: the parent's (a writer's own worker), or a subtask's (SnapshotWorkerHost). */
function serve(port: MessagePort): void {
  port.on('message', (message: SnapshotRequest | ServePortMessage) => {
    if ('type' in message) {
      serve(message.port);
      return;
    }
    void handle(message).then((response) => port.postMessage(response, response.ok ? [] : logBuffers(response.logs)));
  });
}

if (parentPort !== null) serve(parentPort);

async function handle(request: SnapshotRequest): Promise<SnapshotResponse> {
  try {
    const store = stores.get(request.store.uri) ?? checkpointStoreFromUri(request.store.uri, { env: { ...request.store.env } });
    stores.set(request.store.uri, store);
    const { job } = request;
    const result = job.materialize === undefined ? await priority.delta(() => writeSnapshotFiles(job, store)) : await writeSnapshotFiles(job, store, () => priority.giveWay());
    return { id: request.id, ok: true, result };
  } catch (error) {
    return { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error), logs: request.job.logs };
  }
}
