/**
 * WRITE_BUFFER_BYTES and PARQUET_WORKERS are budgets of the process: parallel subtasks, each with
 * a sink writer of its own, split the buffer; the Parquet workers are the process's, run by the
 * coordinator and shared by every subtask (ParquetWorkerHost), so no subtask gets a share of them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../../../src/errors.js';
import { defaultParquetWorkerCount } from '../../../../../src/iceberg/parquet-writer-pool.js';
import { writerBudget } from '../../../../../src/operators/sinks/iceberg/iceberg-table-output.js';

const MiB = 1024 * 1024;

test('in one thread the writer gets the whole budget; the workers their default count unless PARQUET_WORKERS is set', () => {
  assert.deepEqual(writerBudget({ settings: {} }, {}), { writeBufferBytes: 64 * MiB, parquetWorkers: defaultParquetWorkerCount() });
  assert.deepEqual(writerBudget({ settings: { WRITE_BUFFER_BYTES: String(32 * MiB), PARQUET_WORKERS: '3' } }, {}), { writeBufferBytes: 32 * MiB, parquetWorkers: 3 });
  assert.deepEqual(writerBudget({ settings: {}, subtask: { index: 0, parallelism: 1 } }, { writeBufferBytes: 16 * MiB }), { writeBufferBytes: 16 * MiB, parquetWorkers: defaultParquetWorkerCount() });
});

test('each of N subtasks gets an Nth of the write buffer (at least 8 MiB) and every worker of the process', () => {
  const settings = { WRITE_BUFFER_BYTES: String(64 * MiB), PARQUET_WORKERS: '4' };
  assert.deepEqual(writerBudget({ settings, subtask: { index: 1, parallelism: 2 } }, {}), { writeBufferBytes: 32 * MiB, parquetWorkers: 4 });
  assert.deepEqual(writerBudget({ settings, subtask: { index: 0, parallelism: 3 } }, {}), { writeBufferBytes: Math.floor((64 * MiB) / 3), parquetWorkers: 4 });
  assert.deepEqual(writerBudget({ settings, subtask: { index: 5, parallelism: 16 } }, {}), { writeBufferBytes: 8 * MiB, parquetWorkers: 4 });
  // A buffer already below the floor is not raised to it.
  assert.deepEqual(writerBudget({ settings: { WRITE_BUFFER_BYTES: String(4 * MiB) }, subtask: { index: 0, parallelism: 2 } }, {}).writeBufferBytes, 4 * MiB);
});

test('invalid budgets are refused naming the setting, in a subtask as in one thread', () => {
  for (const subtask of [undefined, { index: 0, parallelism: 2 }]) {
    const env = (settings: Record<string, string>) => (subtask ? { settings, subtask } : { settings });
    assert.throws(() => writerBudget(env({ PARQUET_WORKERS: '0' }), {}), (e: unknown) => e instanceof ConfigError && e.setting.startsWith('PARQUET_WORKERS'));
    assert.throws(() => writerBudget(env({ WRITE_BUFFER_BYTES: 'big' }), {}), (e: unknown) => e instanceof ConfigError && e.setting.startsWith('WRITE_BUFFER_BYTES'));
  }
});
