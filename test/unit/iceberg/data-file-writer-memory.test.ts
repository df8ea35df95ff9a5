/**
 * Memory stays bounded by the write buffer, not by the file: one Parquet file twenty times the
 * budget is written in a child process (so the test runner's own memory does not count), and its
 * peak RSS growth over a warmed-up baseline is taken every 100,000 rows.
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
 * Measured: +111 to +132 MiB for a 292 MiB file, flat after its first 300,000 rows.
 */
const SLACK = 160 * MiB;

interface ChildResult {
  readonly baselineRss: number;
  readonly peakRss: number;
  /** Peak RSS up to every mark of rows. */
  readonly peaks: readonly number[];
  readonly fileBytes: number;
  readonly files: number;
}

async function writeFileOf(rows: number, mark: number): Promise<ChildResult & { growth: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'writer-memory-'));
  try {
    const child = fileURLToPath(new URL('./support/write-large-file.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [child, '--rows', String(rows), '--budget', String(BUDGET), '--dir', dir, '--mark', String(mark)], { timeout: 120_000 });
    const result = JSON.parse(stdout) as ChildResult;
    return { ...result, growth: result.peakRss - result.baselineRss };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('writing a file many times the write buffer keeps RSS within budget + slack, independent of the file size', async (t) => {
  const rows = 1_000_000;
  const mark = 100_000;
  const large = await writeFileOf(rows, mark);
  const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
  const growth = large.peaks.map((peak) => peak - large.baselineRss);
  t.diagnostic(`file ${mib(large.fileBytes)}: RSS +${growth.map(mib).join(', +')} at every ${mark} rows (budget ${mib(BUDGET)})`);
  assert.equal(large.files, 1);
  assert.equal(large.peaks.length, rows / mark);
  assert.ok(large.fileBytes > 16 * BUDGET, `the file (${mib(large.fileBytes)}) is many times the budget`);
  assert.ok(large.growth < BUDGET + SLACK, `RSS grew by ${mib(large.growth)}`);
  // Over the last 60 % of the rows the file grows by 3/5 of its size, and memory about not at all once
  // the first 40 % have brought the heaps to their working size: nothing in the writer follows the file.
  const steady = growth.at(-1)! - growth[3]!;
  const fileGrowth = (large.fileBytes * 6) / 10;
  assert.ok(steady < 64 * MiB, `RSS grew by ${mib(steady)} while the file grew by ${mib(fileGrowth)} more`);
});
