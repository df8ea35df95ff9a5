import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LocalHaStore } from '../../../../src/runtime/ha/local-ha-store.js';
import { FakeClock, haStoreContract } from './ha-store-contract.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ha-local-'));
  dirs.push(dir);
  return dir;
}

let counter = 0;
haStoreContract('LocalHaStore', {
  async create(instances, clock) {
    const dir = await freshDir();
    const stores = Array.from({ length: instances }, () => new LocalHaStore(dir, { clock }));
    return { stores, jobName: `job${++counter}` };
  },
});

test('LocalHaStore: old state versions are pruned, the latest survives', async () => {
  const dir = await freshDir();
  const clock = new FakeClock();
  const store = new LocalHaStore(dir, { clock, keepVersions: 4 });
  let lease = (await store.tryAcquire('orders', 'me', 1000))!;
  for (let i = 1; i <= 30; i++) {
    lease = await store.renew(lease, 1000);
    await store.publishPointer(lease, 'file:///checkpoints', { checkpointId: i, location: `chk-${i}` });
  }
  const files = (await readdir(join(dir, 'orders'))).filter((name) => name.startsWith('state.'));
  assert.ok(files.length <= 5, `${files.length} versions kept`);
  assert.equal((await store.readPointer('orders', 'file:///checkpoints'))?.checkpointId, 30);
});

test('LocalHaStore: separate processes racing for the lease — exactly one wins, tokens never repeat', async () => {
  const dir = await freshDir();
  const moduleUrl = new URL('../../../../src/runtime/ha/local-ha-store.js', import.meta.url).href;
  // Each child waits for the same start instant, then tries once.
  const startAt = Date.now() + 1500;
  const script = `
    const { LocalHaStore } = await import(${JSON.stringify(moduleUrl)});
    const store = new LocalHaStore(${JSON.stringify(dir)});
    await new Promise((r) => setTimeout(r, ${startAt} - Date.now()));
    const lease = await store.tryAcquire('orders', 'p' + process.pid, 60000);
    process.stdout.write(lease ? String(lease.fencingToken) : '-');
  `;
  const outputs = await Promise.all(
    Array.from({ length: 6 }, () =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) => (err ? reject(err) : resolve(stdout)));
      }),
    ),
  );
  assert.deepEqual(outputs.filter((out) => out !== '-'), ['1'], outputs.join(','));
});
