#!/usr/bin/env node
// Runs the compiled tests with node's built-in runner: unit tests first, then integration tests
// one file at a time (they share the Kafka broker and moto). Node 20's `--test` takes no globs,
// so the files are found here.
//
// usage: node scripts/run-tests.mjs [unit|integration] [--build-dir DIR]
//   DIR defaults to $STREAMLINE_TEST_BUILD_DIR or `build` (tsc -p tsconfig.test.json).
//   STREAMLINE_TEST_TIMEOUT_MS caps a single test (default 600000).
// Exit status: 0 only when every selected group ran at least one test file and none failed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

function parseArgs(argv) {
  const options = { groups: ['unit', 'integration'], buildDir: process.env.STREAMLINE_TEST_BUILD_DIR ?? 'build' };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === 'unit' || arg === 'integration') options.groups = [arg];
    else if (arg === '--build-dir') options.buildDir = argv[++i];
    else if (arg.startsWith('--build-dir=')) options.buildDir = arg.slice('--build-dir='.length);
    else {
      console.error(`run-tests: unknown argument '${arg}'\nusage: node scripts/run-tests.mjs [unit|integration] [--build-dir DIR]`);
      process.exit(64);
    }
  }
  return options;
}

/** Every `*.test.js` below dir, sorted so runs are reproducible. */
function findTests(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(path);
  }
  return found.sort();
}

/** Runs one `node --test` over files, echoing its output and picking up its summary counts. */
function runGroup(name, files, extraArgs) {
  const timeout = process.env.STREAMLINE_TEST_TIMEOUT_MS ?? '600000';
  const args = ['--test', '--test-reporter=spec', `--test-timeout=${timeout}`, ...extraArgs, ...files];
  console.log(`\n=== ${name}: ${files.length} test file(s) ===`);
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const counts = {};
    let pending = '';
    const scan = (line) => {
      // Summary lines of node's runner: "ℹ pass 12" (spec) or "# pass 12" (tap).
      const match = /^(?:ℹ|#)\s+(tests|pass|fail|cancelled|skipped|todo)\s+(\d+)\s*$/u.exec(line.trim());
      if (match) counts[match[1]] = Number(match[2]);
    };
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(scan);
    });
    child.on('close', (code, signal) => {
      scan(pending);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      resolvePromise({ name, code: code ?? (signal ? 1 : 0), signal, counts, seconds });
    });
  });
}

/**
 * Points every integration test at the local services, whatever the shell exported: tests never
 * reach AWS (an endpoint already on loopback, e.g. another moto port, is kept).
 */
function exportServiceEnvironment() {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
  if (!/^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/.test(endpoint)) {
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${process.env.STREAMLINE_MOTO_PORT ?? 5055}`;
  }
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

const options = parseArgs(process.argv.slice(2));
exportServiceEnvironment();
const buildDir = resolve(repoRoot, options.buildDir);
const results = [];
let filesRun = 0;

for (const group of options.groups) {
  const files = findTests(join(buildDir, 'test', group)).map((f) => relative(repoRoot, f));
  if (files.length === 0) {
    console.log(`\n=== ${group}: no test files under ${relative(repoRoot, join(buildDir, 'test', group)) || '.'} ===`);
    continue;
  }
  filesRun += files.length;
  // Integration files share one broker and one moto; running them one by one keeps them independent.
  const extra = group === 'integration' ? ['--test-concurrency=1'] : [];
  results.push(await runGroup(group, files, extra));
}

console.log('\n=== summary ===');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const r of results) {
  const c = r.counts;
  passed += c.pass ?? 0;
  failed += (c.fail ?? 0) + (c.cancelled ?? 0);
  skipped += (c.skipped ?? 0) + (c.todo ?? 0);
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  console.log(`${r.name}: ${c.pass ?? 0} passed, ${(c.fail ?? 0) + (c.cancelled ?? 0)} failed, ${c.skipped ?? 0} skipped in ${r.seconds}s (${how})`);
}
const anyFailed = results.some((r) => r.code !== 0);
if (anyFailed && failed === 0) failed = 1; // the runner itself failed (crash, bad file) without a count
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);

if (filesRun === 0) {
  console.error(`run-tests: no compiled test files found under ${relative(repoRoot, buildDir) || '.'}/test (did tsc -p tsconfig.test.json run?)`);
  process.exit(1);
}
process.exit(anyFailed ? 1 : 0);
