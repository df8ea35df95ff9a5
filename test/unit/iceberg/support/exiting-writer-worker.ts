/** A Parquet writer worker that dies on its first request, as a crashed or OOM-killed worker would. */
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', () => process.exit(7));
