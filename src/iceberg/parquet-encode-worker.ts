/**
 * Worker-thread entry of the Parquet encode pool: Arrow IPC in, Parquet bytes and footer stats
 * out. Runs the same encoder and stats reader as the inline path, so both produce identical files.
 */
import { parentPort } from 'node:worker_threads';
import { encodeParquetFromIpc } from './parquet-encoder.js';
import { readParquetFooterStats } from './parquet-footer-stats.js';
import { ownedBytes, type EncodeRequest, type EncodeResponse } from './parquet-encode-protocol.js';

const port = parentPort;
if (port === null) throw new Error('parquet-encode-worker must run in a worker thread');

port.on('message', (request: EncodeRequest) => {
  let response: EncodeResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    const bytes = ownedBytes(encodeParquetFromIpc(request.ipc, request.parquet ?? {}));
    const stats = readParquetFooterStats(bytes, { fields: request.fields }, { truncateLength: request.truncateLength });
    response = { id: request.id, ok: true, bytes, stats };
    transfer = [bytes.buffer as ArrayBuffer];
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    response = { id: request.id, ok: false, error: { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) } };
  }
  port.postMessage(response, transfer);
});
