/**
 * `npm run test:chaos`: one chaos run per seed of CHAOS_SEEDS (comma-separated, default 1,2,3),
 * each report printed and written to CHAOS_OUT (default a temp folder); exits 1 unless every run passed.
 * CHAOS_FAULTS (default 12) and CHAOS_RATE (records/s, default 300) size a run.
 */
import { runChaos, formatReport } from './chaos-run.js';
import { FAULT_KINDS } from './fault-schedule.js';
import { join } from 'node:path';

const seeds = (process.env.CHAOS_SEEDS ?? '1,2,3').split(',').map((s) => Number(s.trim()));
if (seeds.some((s) => !Number.isInteger(s))) {
  console.error(`CHAOS_SEEDS must be comma-separated integers, got '${process.env.CHAOS_SEEDS}'`);
  process.exit(64);
}
let failed = 0;
for (const seed of seeds) {
  const report = await runChaos({
    seed,
    faults: Number(process.env.CHAOS_FAULTS ?? 12),
    kinds: FAULT_KINDS,
    rate: Number(process.env.CHAOS_RATE ?? 300),
    hostileFraction: 0.02,
    outDir: process.env.CHAOS_OUT ? join(process.env.CHAOS_OUT, `seed-${seed}`) : undefined,
  });
  console.log(`\n${formatReport(report)}\nfault log:\n  ${report.faultLog.join('\n  ')}\nreport: ${report.logDir}/report.json`);
  if (report.unexpectedExits.length > 0) console.log(JSON.stringify(report.unexpectedExits, null, 2));
  if (!report.pass) failed++;
}
console.log(`\nchaos: ${seeds.length - failed} of ${seeds.length} seeds passed`);
process.exit(failed === 0 ? 0 : 1);
