/** A Parquet encode worker that dies on its first job, as a crashed or OOM-killed worker would. */
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', () => process.exit(7));
