import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

/** Runs `body` (an async function's body) in a fresh thread; resolves with what it returns. */
function inFreshThread(body: string): Promise<unknown> {
  const code = `const { parentPort } = require('node:worker_threads');
const loaded = () => Object.keys(require.cache).some((path) => path.includes('parquet-wasm'));
(async () => { ${body} })().then((result) => parentPort.postMessage(result));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', (result) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const api = new URL('../../../src/index.js', import.meta.url).href;
const dataFileWriter = new URL('../../../src/iceberg/data-file-writer.js', import.meta.url).href;
const streamingFile = new URL('../../../src/iceberg/streaming-parquet-file.js', import.meta.url).href;

test('a thread that runs sinks but encodes no Parquet itself never loads parquet-wasm (~18 MiB of compiled WebAssembly)', async () => {
  const loaded = await inFreshThread(`await import(${JSON.stringify(api)}); await import(${JSON.stringify(dataFileWriter)}); return loaded();`);
  assert.equal(loaded, false);
});

test('the thread that encodes loads it (the check above can see it)', async () => {
  const loaded = await inFreshThread(`await import(${JSON.stringify(streamingFile)}); return loaded();`);
  assert.equal(loaded, true);
});
