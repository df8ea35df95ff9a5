/**
 * Iceberg data-file write path on orders-like rows: rows → Arrow (RecordBatchBuilder) → Parquet
 * ZSTD streamed as row groups into a local file, with footer stats — against the ceiling of
 * parquet-wasm's own `writeParquet` encoding the same, already prepared Arrow batches with the
 * same writer properties. Runs are interleaved (ceiling, worker, inline, ceiling, …) so that a
 * noisy neighbour hits all of them alike; medians and min–max are reported. Bytes per row are
 * compared with pyarrow writing the same rows (bench/pyarrow_bytes_per_row.py, services venv).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Table, tableToIPC, type RecordBatch } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import type { Bench, BenchEntry } from './bench-entry.js';
import { DataFileWriter } from '../src/iceberg/data-file-writer.js';
import { dictionaryColumns } from '../src/iceberg/dictionary-columns.js';
import { LocalFileIO } from '../src/iceberg/local-file-io.js';
import { parquetWriterProperties } from '../src/iceberg/parquet-writer-properties.js';
import { ParquetWriterPool } from '../src/iceberg/parquet-writer-pool.js';
import { RecordBatchBuilder } from '../src/iceberg/record-batch-builder.js';
import type { PartitionSpec } from '../src/iceberg/schema.js';
import { ordersRows, ordersSchema } from './orders-rows.js';
import { repoRoot, servicesPython } from './services-python.js';

const ROWS = 200_000;
const RUNS = 5;
const MiB = 1024 * 1024;

const byDay: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 6, 'field-id': 1000, name: 'created_at_day', transform: 'day' }] };

async function writeAll(dir: string, rows: readonly unknown[], options: { spec?: PartitionSpec; pool?: ParquetWriterPool }) {
  const writer = new DataFileWriter({
    schema: ordersSchema,
    ...(options.spec ? { spec: options.spec } : {}),
    tableLocation: join(dir, `t-${Math.random().toString(36).slice(2)}`),
    fileIO: new LocalFileIO(),
    targetFileSizeBytes: 512 * MiB,
    writeInWorker: options.pool !== undefined,
    ...(options.pool ? { writerPool: options.pool } : {}),
  });
  for (let i = 0; i < rows.length; i += 5000) await writer.append(rows.slice(i, i + 5000));
  const files = await writer.flush();
  await writer.close();
  return files;
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Median and min–max of rows/s over runs. */
function rates(msList: readonly number[]): { median: number; range: string } {
  const r = msList.map((ms) => Math.round((ROWS / ms) * 1000)).sort((a, b) => a - b);
  return { median: r[Math.floor(r.length / 2)]!, range: `${r[0]!.toLocaleString('en-US')} – ${r.at(-1)!.toLocaleString('en-US')}` };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface PyarrowSizes {
  /** Dictionaries on every column (pyarrow's default), on the columns we chose, on none. */
  readonly defaults: number;
  readonly chosenDictionary: number;
  readonly noDictionary: number;
  readonly pyarrow: string;
}

/** pyarrow's bytes/row on the same rows, or why it could not run. */
async function pyarrowBytesPerRow(dir: string, rows: readonly unknown[], dictionary: Readonly<Record<string, boolean>>): Promise<PyarrowSizes | string> {
  const python = servicesPython();
  if (!existsSync(python)) return `${python} is absent (create it with \`npm run services:up\`)`;
  const file = join(dir, 'rows.jsonl');
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  const script = join(repoRoot(), 'bench', 'pyarrow_bytes_per_row.py');
  const chosen = Object.keys(dictionary).filter((column) => dictionary[column]);
  const { stdout } = await promisify(execFile)(python, [script, file, '--dictionary', chosen.join(',')], { maxBuffer: 1 << 20, timeout: 120_000 });
  return JSON.parse(stdout.trim()) as PyarrowSizes;
}

const bench: Bench = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iceberg-write-bench-'));
  const pool = new ParquetWriterPool({ size: 1 });
  try {
    const rows = ordersRows(ROWS);
    const builder = new RecordBatchBuilder(ordersSchema);
    const batches: RecordBatch[] = [];
    for (let i = 0; i < rows.length; i += 65_536) {
      builder.appendRows(rows.slice(i, i + 65_536));
      batches.push(builder.finish().batch);
    }
    const ipc = tableToIPC(new Table(batches), 'stream');
    // The ceiling encodes with our writer's properties (dictionary choice of the first batch included).
    const dictionary = dictionaryColumns(batches[0]!);
    const ceiling = () => {
      const wasmTable = WasmTable.fromIPCStream(ipc); // the hand-over into WebAssembly is not timed
      return timed(() => writeParquet(wasmTable, parquetWriterProperties({}, dictionary)));
    };

    // Warm-up: JIT, WebAssembly tier-up in both threads, the worker itself.
    await writeAll(dir, rows.slice(0, 30_000), { pool });
    await writeAll(dir, rows.slice(0, 30_000), {});
    await ceiling();

    const ceilingMs: number[] = [];
    const workerMs: number[] = [];
    const inlineMs: number[] = [];
    const cpuPerRow: number[] = [];
    let files: Awaited<ReturnType<typeof writeAll>> = [];
    for (let r = 0; r < RUNS; r++) {
      ceilingMs.push(await ceiling());
      const cpu0 = process.cpuUsage();
      workerMs.push(await timed(async () => (files = await writeAll(dir, rows, { pool }))));
      const cpu = process.cpuUsage(cpu0);
      cpuPerRow.push((cpu.user + cpu.system) / ROWS);
      inlineMs.push(await timed(() => writeAll(dir, rows, {})));
    }
    const partitionedMs = await timed(() => writeAll(dir, rows, { spec: byDay, pool }));
    const bytesPerRow = files.reduce((s, f) => s + f.fileSizeInBytes, 0) / ROWS;
    const py = await pyarrowBytesPerRow(dir, rows, dictionary);

    const c = rates(ceilingMs);
    const w = rates(workerMs);
    const i = rates(inlineMs);
    const entries: BenchEntry[] = [
      {
        name: 'iceberg: rows → Arrow → Parquet ZSTD row groups streamed → stats → file (orders, unpartitioned)',
        figures: {
          'worker rows/s (median)': w.median,
          'worker rows/s (min – max)': w.range,
          'inline rows/s (median)': i.median,
          'inline rows/s (min – max)': i.range,
          'ceiling rows/s (writeParquet only)': c.median,
          'ceiling rows/s (min – max)': c.range,
          'ratio worker / ceiling': Number((median(ceilingMs) / median(workerMs)).toFixed(2)),
          'ratio inline / ceiling': Number((median(ceilingMs) / median(inlineMs)).toFixed(2)),
          'CPU µs/row, all threads (worker)': Number(median(cpuPerRow).toFixed(2)),
          'bytes/row': Number(bytesPerRow.toFixed(1)),
          'pyarrow bytes/row: defaults / our dictionaries / none': typeof py === 'string' ? 'not run' : [py.defaults, py.chosenDictionary, py.noDictionary].map((b) => b.toFixed(1)).join(' / '),
        },
        note:
          `${ROWS} rows, ${RUNS} interleaved runs each (ceiling, worker, inline); the ceiling encodes prepared Arrow batches ` +
          `(no row conversion, no stats, no file) with the same properties; ` +
          (typeof py === 'string' ? `pyarrow not run: ${py}` : `pyarrow ${py.pyarrow}, ZSTD, dictionaries on every column (its default), on ours, on none`),
      },
      {
        name: 'iceberg: same, partitioned by day(created_at), worker',
        figures: { 'rows/s': Math.round((ROWS / partitionedMs) * 1000) },
        note: 'one run',
      },
    ];
    return entries;
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
};

export default bench;
