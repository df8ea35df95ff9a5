/**
 * Against the users' current approach: PyIceberg `table.append()` per 100 rows (one commit and
 * one file per batch; bench/pyiceberg_reference.py) versus our DataFileWriter writing the same
 * rows and committing them with one append snapshot, both into a local catalog in a temp folder.
 * Needs the services virtualenv (.services/venv, from `npm run services:up`) for pyiceberg.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Bench, BenchEntry } from './bench-entry.js';
import { repoRoot, servicesPython } from './services-python.js';
import { ordersRows, ordersSchema } from './orders-rows.js';
import { DataFileWriter } from '../src/iceberg/data-file-writer.js';
import { IcebergTable } from '../src/iceberg/iceberg-table.js';
import { LocalCatalog } from '../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../src/iceberg/local-file-io.js';
import { ParquetWriterPool } from '../src/iceberg/parquet-writer-pool.js';

const ROWS = 20_000;
const PY_BATCH = 100;
const PY_TIME_BUDGET_S = 30;
const NAME = 'iceberg vs PyIceberg: append of orders rows into a local catalog';

interface PyResult {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSec: number;
  readonly dataFiles: number;
  readonly commits: number;
  readonly totalRecords: number;
  readonly catalog: string;
  readonly pyiceberg: string;
  readonly truncated: boolean;
}

async function ours(dir: string, rows: readonly unknown[], pool: ParquetWriterPool): Promise<{ ms: number; commitMs: number; files: number; commits: number; records: number }> {
  const fileIO = new LocalFileIO();
  const catalog = new LocalCatalog({ warehouse: join(dir, 'warehouse'), fileIO });
  const table = await IcebergTable.open(catalog, { namespace: 'sink', name: `orders_${Math.random().toString(36).slice(2)}` }, { schema: ordersSchema });
  const t0 = performance.now();
  const writer = new DataFileWriter({ schema: table.schema, spec: table.spec, tableLocation: table.location, fileIO, writerPool: pool });
  // The sink receives micro-batches; 100 rows per append, as the Python job batches them.
  for (let i = 0; i < rows.length; i += PY_BATCH) await writer.append(rows.slice(i, i + PY_BATCH));
  const files = await writer.flush();
  const t1 = performance.now();
  await table.append(files);
  const ms = performance.now() - t0;
  const commitMs = performance.now() - t1;
  await writer.close();
  const records = Number(table.metadata.snapshots?.at(-1)?.summary['total-records'] ?? -1);
  return { ms, commitMs, files: files.length, commits: 1, records };
}

const bench: Bench = async () => {
  const root = repoRoot();
  const python = servicesPython();
  const script = join(root, 'bench', 'pyiceberg_reference.py');
  if (!existsSync(python)) {
    return [{ name: NAME, figures: {}, note: `not run: ${python} is absent (create it with \`npm run services:up\` or \`bash scripts/services.sh install moto\`)` }];
  }
  const dir = await mkdtemp(join(tmpdir(), 'pyiceberg-reference-bench-'));
  // A running job's encode worker is warm; a fresh one runs its first encodes in baseline-compiled WebAssembly.
  const pool = new ParquetWriterPool();
  try {
    const rows = ordersRows(ROWS);
    for (let i = 0; i < 2; i++) await ours(dir, rows, pool); // warm-up: JIT, wasm tier-up in both threads
    const js = await ours(dir, rows, pool);
    if (js.records !== ROWS) throw new Error(`our table holds ${js.records} records, expected ${ROWS}`);

    const { stdout } = await promisify(execFile)(python, [script, '--rows', String(ROWS), '--batch', String(PY_BATCH), '--time-budget', String(PY_TIME_BUDGET_S)], {
      timeout: (PY_TIME_BUDGET_S + 90) * 1000,
      maxBuffer: 1 << 20,
    });
    const py = JSON.parse(stdout.trim().split('\n').at(-1)!) as PyResult;
    if (py.totalRecords !== py.rows) throw new Error(`pyiceberg table holds ${py.totalRecords} records after writing ${py.rows}`);
    const jsRate = Math.round((ROWS / js.ms) * 1000);
    const entry: BenchEntry = {
      name: NAME,
      figures: {
        'streamline rows/s': jsRate,
        'pyiceberg rows/s': py.rowsPerSec,
        'ratio streamline / pyiceberg': Number((jsRate / py.rowsPerSec).toFixed(1)),
        'streamline files / commits': `${js.files} / ${js.commits}`,
        'streamline ms (of which commit)': `${Math.round(js.ms)} (${Math.round(js.commitMs)})`,
        'pyiceberg ms per commit': Math.round((py.seconds * 1000) / py.commits),
        'pyiceberg files / commits': `${py.dataFiles} / ${py.commits}`,
      },
      note:
        `${ROWS} rows; pyiceberg ${py.pyiceberg}: append() per ${PY_BATCH} rows, ${py.catalog}` +
        (py.truncated ? `, stopped after ${py.rows} rows at the ${PY_TIME_BUDGET_S} s budget (its rate falls as the table grows)` : '') +
        `; streamline: DataFileWriter (100-row appends) + one append commit, local catalog`,
    };
    return [entry];
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
};

export default bench;
