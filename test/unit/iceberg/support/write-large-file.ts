/**
 * Child process of the memory test (data-file-writer-memory.test.ts): writes one Parquet file of
 * `--rows` barely compressible rows through a DataFileWriter (worker mode) with a `--budget` byte
 * write buffer, sampling its own RSS, and prints `{ baselineRss, peakRss, peaks, fileBytes, files }`,
 * where `peaks[i]` is the peak RSS up to `(i + 1) * --mark` rows.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DataFileWriter } from '../../../../src/iceberg/data-file-writer.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import type { Schema } from '../../../../src/iceberg/schema.js';

const { values } = parseArgs({ options: { rows: { type: 'string' }, budget: { type: 'string' }, dir: { type: 'string' }, mark: { type: 'string' } } });
const rows = Number(values.rows);
const budget = Number(values.budget);
const mark = Number(values.mark ?? rows);

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'payload', required: true, type: 'string' },
  ],
};

/**
 * Rows whose payload is 400 characters at a pseudo-random offset of one random base64 string made
 * up front: the Parquet file is about as large as the rows (nothing repeats within ZSTD's window),
 * while the payloads are slices of that string, so generating rows leaves little garbage of its
 * own to move the RSS.
 */
const random = randomBytes(30 * 1024 * 1024).toString('base64');
let seed = 1;
function chunk(start: number, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const offset = seed % (random.length - 400);
    return { id: BigInt(start + k), payload: random.slice(offset, offset + 400) };
  });
}

const writer = new DataFileWriter({ schema, tableLocation: values.dir!, fileIO: new LocalFileIO(), writeBufferBytes: budget, targetFileSizeBytes: 1024 ** 4 });
// Warm up (worker started, WebAssembly compiled, code optimized) before the baseline.
await writer.append(chunk(0, 20_000));
await writer.flush();
await new Promise((r) => setTimeout(r, 200));
const baselineRss = process.memoryUsage().rss;
let peakRss = baselineRss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
const peaks: number[] = [];
for (let start = 0; start < rows; start += 2_000) {
  await writer.append(chunk(start, Math.min(2_000, rows - start)));
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if ((start + 2_000) % mark === 0) peaks.push(peakRss);
}
const files = await writer.flush();
peakRss = Math.max(peakRss, process.memoryUsage().rss);
clearInterval(sampler);
await writer.close();
process.stdout.write(JSON.stringify({ baselineRss, peakRss, peaks, fileBytes: files.reduce((s, f) => s + f.fileSizeInBytes, 0), files: files.length }) + '\n');
