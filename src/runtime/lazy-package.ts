/**
 * A CommonJS package loaded at its first use instead of with the module that may use it. Every
 * thread of a process (coordinator, subtasks, snapshot and Parquet workers) loads its modules
 * anew, so a client imported by shared code costs each of them its load time and memory even
 * where nothing builds one (BENCHMARKS.md, session 19). `require` is synchronous, so a
 * constructor can load what it needs; an `import` of the same package gets the same instance.
 * Import only types from such a package elsewhere (`import type`).
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** `name`, loaded on the first call and kept; `T` is its module type (`typeof import(name)`). */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(name) as T);
}
