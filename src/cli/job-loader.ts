import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Job } from '../runtime/job.js';
import { importJobModule } from '../runtime/job-module.js';
import { JobDefinitionError, UsageError } from '../errors.js';

const DIST = dirname(dirname(fileURLToPath(import.meta.url)));
const MODULE_EXTENSIONS = ['.js', '.mjs'];

/** Names of the jobs built into dist/jobs. */
export function builtInJobs(): string[] {
  const dir = join(DIST, 'jobs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^[a-z0-9][a-z0-9_-]*\.js$/i.test(f))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** A job and the module it came from (parallel subtasks load it again in their threads). */
export interface LoadedJob {
  readonly job: Job;
  /** File URL of the module. */
  readonly url: string;
}

/**
 * Where a job module is: `jobs/orders` (or `orders`) from dist/jobs, or a path to a compiled
 * module (`.js`, or `.mjs` for a module outside any package; the extension may be left out).
 * Throws UsageError naming the built-in jobs when there is none.
 */
export function resolveJobModule(jobPath: string): string {
  if (/\.[cm]?tsx?$/.test(jobPath)) {
    throw new UsageError(`'${jobPath}' is TypeScript source: compile it (tsc) and give the compiled .js (or .mjs) module.`);
  }
  const local = [resolve(jobPath), ...MODULE_EXTENSIONS.map((ext) => resolve(`${jobPath}${ext}`))];
  const explicit = isAbsolute(jobPath) || jobPath.startsWith('.') || MODULE_EXTENSIONS.some((ext) => jobPath.endsWith(ext));
  const candidates = explicit ? local : [join(DIST, `${jobPath}.js`), join(DIST, 'jobs', `${jobPath}.js`), ...local];
  const file = candidates.find((c) => MODULE_EXTENSIONS.some((ext) => c.endsWith(ext)) && existsSync(c));
  if (file === undefined) {
    throw new UsageError(`No job module at '${jobPath}'. Built-in jobs: ${builtInJobs().map((j) => `jobs/${j}`).join(', ') || 'none (run npm run build)'}; or give the path of a compiled job module (.js, .mjs).`);
  }
  return pathToFileURL(file).href;
}

/** Loads a job module (see {@link resolveJobModule}); its default export must be a Job (see `defineJob`). */
export async function loadJob(jobPath: string): Promise<LoadedJob> {
  const url = resolveJobModule(jobPath);
  let module: Record<string, unknown>;
  try {
    module = await importJobModule(url);
  } catch (error) {
    throw new JobDefinitionError(`Cannot load the job module ${fileURLToPath(url)}: ${(error as Error).message}`, { cause: error });
  }
  const job = module.default as Partial<Job> | undefined;
  if (job === undefined || typeof job.name !== 'string' || typeof job.build !== 'function') {
    throw new UsageError(`'${fileURLToPath(url)}' has no default export made with defineJob({...}) (import { defineJob } from 'streamline').`);
  }
  return { job: job as Job, url };
}
