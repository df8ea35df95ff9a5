#!/usr/bin/env node
/**
 * Where a thread's time went, from the .cpuprofile files `node --cpu-prof --cpu-prof-dir=DIR`
 * writes (one per thread): self time by function and by module, busiest first.
 * Usage: node scripts/cpu-profile-summary.mjs DIR [top=15]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, topArg] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: node scripts/cpu-profile-summary.mjs <dir of .cpuprofile files> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 15);

/** A module's short name: the package under node_modules, our file under dist/, or node's own. */
function moduleOf(url) {
  if (!url) return '(native / GC / idle)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/dist\/(.+)$/.exec(url);
  if (ours) return ours[1];
  return url.startsWith('node:') ? url : basename(url);
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const fn = new Map();
  const mod = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    total += us;
    if (callFrame.functionName === '(idle)') idle += us;
    const name = `${callFrame.functionName || '(anonymous)'} ${moduleOf(callFrame.url)}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const m = callFrame.functionName.startsWith('(') ? callFrame.functionName : moduleOf(callFrame.url);
    mod.set(m, (mod.get(m) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)} %`;
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / Math.max(1, total)).toFixed(0)} %); shares of busy time\n`);
  process.stdout.write('  by module:\n');
  for (const [name, us] of [...mod].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`    ${pct(us)}  ${name}\n`);
  process.stdout.write('  by function:\n');
  for (const [name, us] of [...fn].filter(([n]) => !n.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`    ${pct(us)}  ${name}\n`);
}
