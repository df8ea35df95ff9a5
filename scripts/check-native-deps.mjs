#!/usr/bin/env node
// Loads the native dependency (classic-level: LevelDB for disk-backed keyed state, shipped as
// prebuilt N-API binaries) on the running Node and round-trips a value through it, so a Node
// version it does not support fails here with a clear message instead of deep inside a test.
//
// usage: node scripts/check-native-deps.mjs     (CI runs it with every Node version it tests)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'native-deps-'));
try {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel(join(dir, 'db'), { valueEncoding: 'utf8' });
  await db.open();
  await db.put('probe', 'value');
  const read = await db.get('probe');
  await db.close();
  if (read !== 'value') throw new Error(`read back ${JSON.stringify(read)}`);
  const { version } = JSON.parse(readFileSync(require.resolve('classic-level/package.json'), 'utf8'));
  console.log(`classic-level ${version} on node ${process.version} (N-API ${process.versions.napi}, ${process.platform}-${process.arch}): ok`);
} catch (error) {
  console.error(`classic-level does not work on node ${process.version}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
