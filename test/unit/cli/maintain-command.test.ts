/** `run.js maintain` as an operator meets it: help, usage and configuration errors (exit 2), a job whose table does not exist yet (exit 0, a note). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const RUN = resolve(fileURLToPath(import.meta.url), '../../../../src/run.js');

function maintain(args: string[], env: Record<string, string> = {}) {
  const workDir = mkdtempSync(join(tmpdir(), 'maintain-cli-'));
  try {
    const result = spawnSync(process.execPath, [RUN, 'maintain', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', STREAMLINE_WORK_DIR: workDir, LOG_LEVEL: 'warn', ...env },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

test('maintain --help explains the pass and lists the MAINTAIN_* flags, exit 0', () => {
  const r = maintain(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: node dist\/run.js maintain <job>/);
  assert.match(r.stdout, /--maintain-orphan-min-age-ms\s.*\n\s+env: MAINTAIN_ORPHAN_MIN_AGE_MS/);
});

test('maintain without a job, or with a bad MAINTAIN_* setting, fails with exit 2 naming what is wrong', () => {
  const missing = maintain([]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Missing the job to maintain/);
  const tasks = maintain(['jobs/orders', '--maintain-tasks', 'compact,vacuum']);
  assert.equal(tasks.code, 2, tasks.stderr);
  assert.match(tasks.stderr, /MAINTAIN_TASKS.*'vacuum' is not a task/);
  const age = maintain(['jobs/orders'], { MAINTAIN_ORPHAN_MIN_AGE_MS: '5' });
  assert.equal(age.code, 2, age.stderr);
  assert.match(age.stderr, /MAINTAIN_ORPHAN_MIN_AGE_MS/);
});

test('maintain on a job that never ran: nothing to do, a JSON report with a note, exit 0', () => {
  const r = maintain(['jobs/orders']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { job: string; outputs: { output: string; notes: string[]; failures: string[] }[] };
  assert.equal(report.job, 'orders');
  assert.deepEqual(report.outputs.map((o) => [o.output, o.failures]), [['sink.orders', []]]);
  assert.match(report.outputs[0]!.notes.join('\n'), /does not exist yet/);
});
