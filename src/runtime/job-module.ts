/**
 * Imports a job module by URL — in the process that runs the job and again in every parallel
 * subtask thread. A module outside this build (a job in the user's own package, or a lone `.mjs`)
 * gets `import … from 'streamline'` resolved to this very build: one framework instance, whatever
 * the job's own node_modules hold (two copies would not recognise each other's errors or records).
 */
import { register } from 'node:module';

const FRAMEWORK_ROOT = new URL('../', import.meta.url).href;
let resolutionRegistered = false;

/** The module's namespace; registers the `streamline` resolution (once per thread) for modules outside this build. */
export async function importJobModule(url: string): Promise<Record<string, unknown>> {
  if (!url.startsWith(FRAMEWORK_ROOT) && !resolutionRegistered) {
    register(new URL('./framework-resolve-hooks.js', import.meta.url));
    resolutionRegistered = true;
  }
  return (await import(url)) as Record<string, unknown>;
}
