/** Worker thread entry: runs keyed-state snapshot jobs (see snapshot-files.ts) against a store opened from its spec. */
import { parentPort } from 'node:worker_threads';
import type { CheckpointStore } from '../../checkpoint-store.js';
import { checkpointStoreFromUri } from '../../checkpoint/checkpoint-store-from-uri.js';
import { writeSnapshotFiles } from './snapshot-files.js';
import { logBuffers, type SnapshotRequest, type SnapshotResponse } from './snapshot-worker-protocol.js';

const stores = new Map<string, CheckpointStore>();

parentPort?.on('message', (request: SnapshotRequest) => {
  void handle(request).then((response) => parentPort?.postMessage(response, response.ok ? [] : logBuffers(response.logs)));
});

async function handle(request: SnapshotRequest): Promise<SnapshotResponse> {
  try {
    let store = stores.get(request.store.uri);
    if (store === undefined) stores.set(request.store.uri, (store = checkpointStoreFromUri(request.store.uri, { env: { ...request.store.env } })));
    return { id: request.id, ok: true, result: await writeSnapshotFiles(request.job, store) };
  } catch (error) {
    return { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error), logs: request.job.logs };
  }
}
