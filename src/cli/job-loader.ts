import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Job } from '../runtime/job.js';
import { UsageError } from '../errors.js';

const DIST = dirname(dirname(fileURLToPath(import.meta.url)));

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
 * Loads a job module: `jobs/orders` (or `orders`) from dist/jobs, or a path to a compiled
 * module. Its default export must be a Job (see `defineJob`).
 */
export async function loadJob(jobPath: string): Promise<LoadedJob> {
  const candidates = isAbsolute(jobPath) || jobPath.startsWith('.') || jobPath.endsWith('.js')
    ? [resolve(jobPath), resolve(`${jobPath}.js`)]
    : [join(DIST, `${jobPath}.js`), join(DIST, 'jobs', `${jobPath}.js`), resolve(jobPath), resolve(`${jobPath}.js`)];
  const file = candidates.find((c) => c.endsWith('.js') && existsSync(c));
  if (file === undefined) {
    throw new UsageError(`No job module at '${jobPath}'. Built-in jobs: ${builtInJobs().map((j) => `jobs/${j}`).join(', ') || 'none (run npm run build)'}.`);
  }
  const url = pathToFileURL(file).href;
  const module = (await import(url)) as { default?: Partial<Job> };
  const job = module.default;
  if (job === undefined || typeof job.name !== 'string' || typeof job.build !== 'function') {
    throw new UsageError(`'${file}' has no default export made with defineJob({...}).`);
  }
  return { job: job as Job, url };
}
