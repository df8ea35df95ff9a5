#!/usr/bin/env node
/**
 * `node dist/run.js <job> [flags]` — runs one job in this process until it finishes (bounded
 * input) or is stopped (cli/run-main.ts). Exit codes: 0 done/stopped gracefully, 1 the job
 * failed, 2 bad usage or configuration. Before anything else loads, the process may restart
 * itself in place with fewer malloc arenas (cli/malloc-arenas.ts).
 */
import { execWithFewerMallocArenas } from './cli/malloc-arenas.js';

execWithFewerMallocArenas(process);
await import('./cli/run-main.js');
