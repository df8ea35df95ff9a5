/**
 * glibc gives every thread that allocates natively (LevelDB, zlib, Node's buffers; a job runs a
 * dozen threads) an arena of its own, up to 8 per core, and keeps what is freed in it: ~100 MiB
 * of a job's peak RSS (BENCHMARKS.md, sessions 11 and 13). `MALLOC_ARENA_MAX` caps them but is
 * read once, when the process starts. So a job process started without it restarts itself in
 * place (execve: same PID, same standard streams, nothing else kept) with MALLOC_ARENA_MAX=2,
 * before it has loaded anything, where Node offers that (`process.execve`, Node ≥ 22.15, not on
 * Windows). Setting MALLOC_ARENA_MAX yourself, to any value, keeps the process as started.
 */

/** The arenas a job process runs with unless MALLOC_ARENA_MAX is set. */
export const MALLOC_ARENAS = '2';

/** The parts of `process` this needs (tests pass their own). */
export interface RestartableProcess {
  readonly platform: string;
  readonly env: NodeJS.ProcessEnv;
  readonly execPath: string;
  readonly execArgv: readonly string[];
  readonly argv: readonly string[];
  readonly execve?: (file: string, args?: readonly string[], env?: NodeJS.ProcessEnv) => never;
}

/**
 * Replaces the process with itself run with MALLOC_ARENA_MAX=2, when it runs on Linux (other
 * systems' allocators ignore the variable), was started without it and Node can; otherwise, or
 * if the restart fails, returns and the process goes on as it started.
 */
export function execWithFewerMallocArenas(proc: RestartableProcess): void {
  if (proc.platform !== 'linux' || proc.env.MALLOC_ARENA_MAX !== undefined || typeof proc.execve !== 'function') return;
  try {
    proc.execve(proc.execPath, [proc.execPath, ...proc.execArgv, ...proc.argv.slice(1)], { ...proc.env, MALLOC_ARENA_MAX: MALLOC_ARENAS });
  } catch {
    // Not restarted (e.g. the binary cannot be executed again): run as started, with glibc's arenas.
  }
}
