/** The Python of the services virtualenv (pyiceberg, pyarrow), for benchmarks that compare with it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this module runs compiled, from build/bench/). */
export function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench'))) return dir;
    dir = join(dir, '..');
  }
  return process.cwd();
}

/** `<services dir>/venv/bin/python`; the services dir is STREAMLINE_SERVICES_DIR or `.services` (as the tests find it). */
export function servicesPython(): string {
  return join(process.env.STREAMLINE_SERVICES_DIR ?? join(repoRoot(), '.services'), 'venv', 'bin', 'python');
}
