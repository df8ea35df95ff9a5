/**
 * `npm run bench`: every benchmark of the project in one process, one table. Ratios are taken
 * inside one run because the machine is shared and noisy; single timings mean little.
 * `npm run bench -- <filter>` runs the entries whose module name contains the filter.
 */
import type { Bench, BenchEntry } from './bench-entry.js';

const MODULES = ['orders-kafka-job', 'record-validation', 'keyed-state', 'runtime-pipeline', 'iceberg-write', 'iceberg-sink', 'writer-memory', 'pyiceberg-reference', 'kafka-source', 'scale-out', 'console-overhead'];

const filter = process.argv[2];
const results: { module: string; entries: readonly BenchEntry[] }[] = [];
for (const name of MODULES.filter((m) => filter === undefined || m.includes(filter))) {
  let bench: Bench;
  try {
    bench = ((await import(`./${name}.bench.js`)) as { default: Bench }).default;
  } catch (error) {
    results.push({ module: name, entries: [{ name, figures: {}, note: `not available: ${(error as Error).message}` }] });
    continue;
  }
  process.stderr.write(`running ${name} …\n`);
  try {
    results.push({ module: name, entries: await bench() });
  } catch (error) {
    results.push({ module: name, entries: [{ name, figures: {}, note: `FAILED: ${(error as Error).stack ?? error}` }] });
    process.exitCode = 1;
  }
}

for (const { entries } of results) {
  for (const entry of entries) {
    process.stdout.write(`\n${entry.name}\n`);
    for (const [k, v] of Object.entries(entry.figures)) process.stdout.write(`  ${k.padEnd(34)} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}\n`);
    if (entry.note) process.stdout.write(`  (${entry.note})\n`);
  }
}
process.stdout.write(`\n${JSON.stringify({ when: new Date().toISOString(), node: process.version, results })}\n`);
setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
