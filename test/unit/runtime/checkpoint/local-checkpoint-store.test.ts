import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { checkpointStoreContract, writeCheckpoint, type RawObjects } from './checkpoint-store-contract.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function listFiles(dir: string, base = dir): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path, base)));
    else files.push(relative(base, path));
  }
  return files.sort();
}

let counter = 0;
checkpointStoreContract('LocalCheckpointStore', {
  async create() {
    const root = await mkdtemp(join(tmpdir(), 'ckpt-local-'));
    roots.push(root);
    const store = new LocalCheckpointStore(root);
    const raw: RawObjects = {
      put: (job, id, name, bytes) => writeFile(join(root, job, `chk-${id}`, name), bytes),
      remove: (job, id, name) => rm(join(root, job, `chk-${id}`, name)),
      list: (job) => listFiles(join(root, job)),
    };
    return { store, raw, jobName: `job${++counter}` };
  },
});

test('LocalCheckpointStore: a crash before the link leaves only an ignored temp file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ckpt-local-'));
  roots.push(root);
  const store = new LocalCheckpointStore(root);
  await writeCheckpoint(store, 'orders', 1);
  await writeCheckpoint(store, 'orders', 2);
  // What a kill -9 during the _metadata write of checkpoint 3 leaves behind.
  await store.writeState('orders', 3, 'orders.source.state', new TextEncoder().encode('x'));
  await writeFile(join(root, 'orders', 'chk-3', '._metadata.tmp-1234'), '{"formatVersion":1,"job');
  const skipped: number[] = [];
  const ids = (await store.listCompleted('orders', (id) => skipped.push(id))).map((c) => c.metadata.checkpointId);
  assert.deepEqual(ids, [2, 1]);
  assert.deepEqual(skipped, [3]);
  assert.equal(await store.highestCheckpointId('orders'), 3);
  assert.ok(store.uri.startsWith('file:///'));
});
