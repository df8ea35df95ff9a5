/** A job process started without MALLOC_ARENA_MAX restarts itself in place with it, where Node can. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execWithFewerMallocArenas, MALLOC_ARENAS, type RestartableProcess } from '../../../src/cli/malloc-arenas.js';

function fakeProcess(overrides: Partial<RestartableProcess>): { proc: RestartableProcess; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const proc: RestartableProcess = {
    platform: 'linux',
    env: { PATH: '/bin', LOG_LEVEL: 'debug' },
    execPath: '/opt/node/bin/node',
    execArgv: ['--enable-source-maps'],
    argv: ['/opt/node/bin/node', '/app/dist/run.js', 'jobs/orders', '--parallelism', '2'],
    execve: ((...args: unknown[]) => {
      calls.push(args);
      return undefined as never;
    }) as RestartableProcess['execve'],
    ...overrides,
  };
  return { proc, calls };
}

test('on Linux without MALLOC_ARENA_MAX the process execs itself: same binary, flags, script and arguments, the environment plus MALLOC_ARENA_MAX', () => {
  const { proc, calls } = fakeProcess({});
  execWithFewerMallocArenas(proc);
  assert.deepEqual(calls, [['/opt/node/bin/node', ['/opt/node/bin/node', '--enable-source-maps', '/app/dist/run.js', 'jobs/orders', '--parallelism', '2'], { PATH: '/bin', LOG_LEVEL: 'debug', MALLOC_ARENA_MAX: MALLOC_ARENAS }]]);
});

test('the process goes on as started when MALLOC_ARENA_MAX is set (any value), off Linux, without process.execve, or when the exec fails', () => {
  for (const overrides of [{ env: { MALLOC_ARENA_MAX: '8' } }, { env: { MALLOC_ARENA_MAX: '' } }, { platform: 'darwin' }, { execve: undefined }] as Partial<RestartableProcess>[]) {
    const { proc, calls } = fakeProcess(overrides);
    execWithFewerMallocArenas(proc);
    assert.deepEqual(calls, [], JSON.stringify(overrides));
  }
  const failing = fakeProcess({
    execve: (() => {
      throw new Error('EACCES');
    }) as RestartableProcess['execve'],
  });
  assert.doesNotThrow(() => execWithFewerMallocArenas(failing.proc));
});

test('a real process restarts in place where Node has process.execve (same PID, the variable set), and runs unchanged where it does not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arenas-'));
  try {
    const script = join(dir, 'probe.mjs');
    const moduleUrl = new URL('../../../src/cli/malloc-arenas.js', import.meta.url).href;
    writeFileSync(script, `const { execWithFewerMallocArenas } = await import(${JSON.stringify(moduleUrl)});\nexecWithFewerMallocArenas(process);\nconsole.log(JSON.stringify({ pid: process.pid, arenas: process.env.MALLOC_ARENA_MAX ?? null, args: process.argv.slice(2) }));\n`);
    const env = { ...process.env };
    delete env.MALLOC_ARENA_MAX;
    const child = spawnSync(process.execPath, [script, 'a', 'b c'], { env, encoding: 'utf8', timeout: 20_000 });
    assert.equal(child.status, 0, child.stderr);
    const seen = JSON.parse(child.stdout.trim()) as { pid: number; arenas: string | null; args: string[] };
    assert.deepEqual(seen.args, ['a', 'b c']);
    const canExec = typeof (process as { execve?: unknown }).execve === 'function' && process.platform === 'linux';
    assert.equal(seen.arenas, canExec ? MALLOC_ARENAS : null, `Node ${process.version}`);
    assert.equal(seen.pid, child.pid, 'one process, restarted in place');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
