/**
 * The `created_by` of our Parquet footers: `streamline version <package version> (build <commit>)`,
 * the form parquet-java's VersionParser accepts. A footer it cannot parse makes Iceberg Java and
 * Spark distrust the min/max statistics of string and binary columns (PARQUET-251).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let createdBy: string | undefined;

/** Computed once per process. */
export function streamlineCreatedBy(): string {
  if (createdBy === undefined) {
    const root = packageRoot();
    createdBy = `streamline version ${packageVersion(root)} (build ${buildCommit(root)})`;
  }
  return createdBy;
}

/** The folder of streamline's package.json, above this module wherever it was compiled to. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'streamline') return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function packageVersion(root: string | undefined): string {
  if (root === undefined) return '0.0.0';
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
}

/** STREAMLINE_BUILD_COMMIT (set by an image build), else the checkout's HEAD, else 'unknown'. */
function buildCommit(root: string | undefined): string {
  const fromEnv = process.env.STREAMLINE_BUILD_COMMIT?.trim();
  if (fromEnv) return fromEnv;
  if (root === undefined) return 'unknown';
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}
