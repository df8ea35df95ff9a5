/**
 * What `run.js` prints for people and for log collectors: JSON lines when stderr is not a
 * terminal (a status line among them, the summary last), lines for people with LOG_FORMAT=pretty,
 * and a summary that says how many rows landed, where the table is and how to read it. The job
 * is the sequence fixture (ids 0..n-1, one row each), so the expected rows are the generator's
 * count; the table's files and checkpoints are looked up on disk.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const RUN = resolve(fileURLToPath(import.meta.url), '../../../../src/run.js');
const SEQUENCE_JOB = resolve(fileURLToPath(import.meta.url), '../../../fixtures/jobs/sequence.js');
const COUNT = 3_000;

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

/** Runs the sequence job to the end of its input with stderr piped (not a terminal). */
async function runSequence(workDir: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [RUN, SEQUENCE_JOB], {
    env: {
      PATH: process.env.PATH ?? '',
      STREAMLINE_WORK_DIR: workDir,
      GENERATOR_COUNT: String(COUNT),
      GENERATOR_RATE: '600',
      CHECKPOINT_INTERVAL_MS: '300',
      STATUS_INTERVAL_MS: '300',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
  clearTimeout(timer);
  return { code, stderr };
}

/** Completed checkpoint ids of the sequence job in a local checkpoint folder. */
function completedCheckpoints(workDir: string): number[] {
  const dir = join(workDir, 'checkpoints', 'sequence');
  return readdirSync(dir)
    .flatMap((name) => (/^chk-(\d+)$/.test(name) && existsSync(join(dir, name, '_metadata')) ? [Number(name.slice(4))] : []))
    .sort((a, b) => a - b);
}

interface Summary {
  outcome: string;
  rowsCommitted: number;
  commits: number;
  outputs: { name: string; location: string; totalRows: number; readCommand: string }[];
  lastCheckpoint: { id: number; location: string };
  deadLetters: { total: number; location: string };
}

test('stderr not a terminal: JSON lines only, a status line while it runs, the summary last', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'run-output-'));
  try {
    const port = await freePort();
    const { code, stderr } = await runSequence(workDir, { METRICS_PORT: String(port) });
    assert.equal(code, 0, stderr.slice(-2000));
    const lines = stderr.trim().split('\n');
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line: ${line}`);
      }
    });
    assert.ok(
      entries.some((e) => e.msg === `web console on http://localhost:${port}/ (and /metrics, /healthz, /readyz)` && e.console === `http://localhost:${port}/`),
      'the console URL is logged',
    );
    const status = entries.find((e) => /^status: sequence (starting|running) · read /.test(String(e.msg)));
    assert.ok(status !== undefined, 'a status line');
    assert.equal(typeof (status.status as { rowsCommitted: unknown }).rowsCommitted, 'number');

    const last = entries.at(-1)!;
    const summary = last.summary as Summary;
    assert.ok(summary !== undefined, `the last line is the summary: ${lines.at(-1)}`);
    assert.equal(summary.outcome, 'finished');
    assert.equal(summary.rowsCommitted, COUNT, 'one row per generated id');
    assert.ok(summary.commits >= 1);
    const [output] = summary.outputs;
    const table = join(workDir, 'warehouse', 'sink', 'sequence');
    assert.equal(output?.name, 'sink.sequence');
    assert.equal(output?.location, table);
    assert.equal(output?.totalRows, COUNT);
    const version = readFileSync(join(table, 'metadata', 'version-hint.text'), 'utf8').trim();
    assert.ok(output?.readCommand.includes(`"file://${join(table, 'metadata', `${version}.metadata.json`)}"`), `the command reads the current metadata file: ${output?.readCommand}`);
    const checkpoints = completedCheckpoints(workDir);
    assert.equal(summary.lastCheckpoint.id, checkpoints.at(-1));
    assert.equal(summary.lastCheckpoint.location, join(workDir, 'checkpoints', 'sequence', `chk-${checkpoints.at(-1)}`));
    assert.deepEqual(summary.deadLetters, { total: 0, byReason: [], location: join(workDir, 'dead-letters', 'sequence.jsonl') });
    assert.match(String(last.msg), new RegExp(`^sequence finished after .*: 3,000 rows committed in \\d+ commits to sink\\.sequence at ${table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; read it with: python3 -c `));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});

test('LOG_FORMAT=pretty: lines for people and the summary as a block, without colours off a terminal', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'run-output-pretty-'));
  try {
    const { code, stderr } = await runSequence(workDir, { METRICS_PORT: '0', LOG_FORMAT: 'pretty' });
    assert.equal(code, 0, stderr.slice(-2000));
    assert.doesNotMatch(stderr, /\x1b\[/, 'no escape sequences when stderr is not a terminal');
    assert.doesNotMatch(stderr, /^\{"level"/m);
    assert.match(stderr, /^\d\d:\d\d:\d\d\.\d{3} INFO  sequence  lease acquired; starting  /m);
    assert.match(stderr, /^\d\d:\d\d:\d\d\.\d{3} INFO  sequence  status: sequence (starting|running) · read /m);
    const table = join(workDir, 'warehouse', 'sink', 'sequence');
    const block = stderr.slice(stderr.lastIndexOf('\nsequence finished after'));
    assert.match(block, /rows committed +3,000 in \d+ commits? this run/);
    assert.match(block, /table +sink\.sequence \(holds 3,000 rows\)/);
    assert.ok(block.includes(`location        ${table}\n`), block);
    assert.match(block, /read it +python3 -c 'from pyiceberg\.table import StaticTable; /);
    assert.match(block, /last checkpoint +#\d+ {2}\S+chk-\d+/);
    assert.match(block, /dead letters +none/);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});

test('an unknown LOG_FORMAT fails at start naming the setting', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'run-output-bad-'));
  try {
    const { code, stderr } = await runSequence(workDir, { METRICS_PORT: '0', LOG_FORMAT: 'xml' });
    assert.equal(code, 2);
    assert.match(stderr, /LOG_FORMAT \(--log-format\).*'xml'/);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
