/**
 * `npm run test:chaos`: one chaos run per seed of CHAOS_SEEDS (comma-separated, default 1,2,3),
 * each report printed and written to CHAOS_OUT (default a temp folder); exits 1 unless every run passed.
 * CHAOS_FAULTS (default 12) and CHAOS_RATE (records/s, default 300) size a run. CHAOS_MODE picks
 * how the job runs: `single`, `group` (SCALE_OUT=group, two instances), or `alternate` (default:
 * odd seeds single, even seeds group). The schedule includes a crash and restart of the shared
 * Kafka broker unless CHAOS_BROKER_RESTART=0 (the short form inside `npm test` never has it).
 */
import { runChaos, formatReport } from './chaos-run.js';
import { BROKER_RESTART, FAULT_KINDS, GROUP_FAULT_KINDS, type FaultKind } from './fault-schedule.js';
import { join } from 'node:path';

const seeds = (process.env.CHAOS_SEEDS ?? '1,2,3').split(',').map((s) => Number(s.trim()));
if (seeds.some((s) => !Number.isInteger(s))) {
  console.error(`CHAOS_SEEDS must be comma-separated integers, got '${process.env.CHAOS_SEEDS}'`);
  process.exit(64);
}
const modeSetting = process.env.CHAOS_MODE ?? 'alternate';
if (!['single', 'group', 'alternate'].includes(modeSetting)) {
  console.error(`CHAOS_MODE must be single, group or alternate, got '${modeSetting}'`);
  process.exit(64);
}
const brokerRestart = process.env.CHAOS_BROKER_RESTART !== '0';
let failed = 0;
for (const seed of seeds) {
  const mode = modeSetting === 'alternate' ? (Math.abs(seed) % 2 === 1 ? 'single' : 'group') : (modeSetting as 'single' | 'group');
  const kinds: FaultKind[] = [...(mode === 'single' ? FAULT_KINDS : GROUP_FAULT_KINDS), ...(brokerRestart ? [BROKER_RESTART] : [])];
  const report = await runChaos({
    seed,
    mode,
    watchStalls: true,
    faults: Number(process.env.CHAOS_FAULTS ?? 12),
    kinds,
    rate: Number(process.env.CHAOS_RATE ?? 300),
    hostileFraction: 0.02,
    outDir: process.env.CHAOS_OUT ? join(process.env.CHAOS_OUT, `seed-${seed}`) : undefined,
  });
  console.log(`\n${formatReport(report)}\nfault log:\n  ${report.faultLog.join('\n  ')}\nreport: ${report.logDir}/report.json`);
  if (report.unexpectedExits.length > 0) console.log(JSON.stringify(report.unexpectedExits, null, 2));
  if (report.excusedExits.length > 0) console.log(`excused exits:\n${JSON.stringify(report.excusedExits, null, 2)}`);
  if (!report.pass) failed++;
}
console.log(`\nchaos: ${seeds.length - failed} of ${seeds.length} seeds passed`);
process.exit(failed === 0 ? 0 : 1);
