/**
 * Memory stays bounded by the write buffer, not by the file: one Parquet file five and twenty
 * times the budget is written in a child process (so the test runner's own memory does not
 * count) and its peak RSS growth over a warmed-up baseline is compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const MiB = 1024 * 1024;
const BUDGET = 16 * MiB;
/**
 * What a process holds beyond the budget whatever the file size: the encoder's WebAssembly memory
 * (its open row group, up to 8 MiB, and the batch it converts: ~48 MiB), and up to 64 MiB of dead
 * ArrayBuffers per thread (IPC batches, row-group chunks), which V8 collects in steps of that size.
 * Measured: +86 to +114 MiB for both file sizes.
 */
const SLACK = 160 * MiB;

interface ChildResult {
  readonly baselineRss: number;
  readonly peakRss: number;
  readonly fileBytes: number;
  readonly files: number;
}

async function writeFileOf(rows: number): Promise<ChildResult & { growth: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'writer-memory-'));
  try {
    const child = fileURLToPath(new URL('./support/write-large-file.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [child, '--rows', String(rows), '--budget', String(BUDGET), '--dir', dir], { timeout: 120_000 });
    const result = JSON.parse(stdout) as ChildResult;
    return { ...result, growth: result.peakRss - result.baselineRss };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('writing a file many times the write buffer keeps RSS within budget + slack, independent of the file size', async (t) => {
  const small = await writeFileOf(200_000);
  const large = await writeFileOf(1_000_000);
  const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
  t.diagnostic(`file ${mib(small.fileBytes)}: RSS +${mib(small.growth)}; file ${mib(large.fileBytes)}: RSS +${mib(large.growth)} (budget ${mib(BUDGET)})`);
  assert.equal(large.files, 1);
  assert.ok(large.fileBytes > 16 * BUDGET, `the file (${mib(large.fileBytes)}) is many times the budget`);
  assert.ok(large.growth < BUDGET + SLACK, `RSS grew by ${mib(large.growth)}`);
  // Five times the file, about the same memory: nothing in the writer follows the file's size.
  assert.ok(large.growth - small.growth < 64 * MiB, `RSS grew by ${mib(small.growth)} for ${mib(small.fileBytes)} and ${mib(large.growth)} for ${mib(large.fileBytes)}`);
});
