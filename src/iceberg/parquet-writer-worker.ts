/**
 * Worker-thread entry of the Parquet writer pool: it owns the open files assigned to it, encodes
 * their batches and uploads their row groups through its own FileIO (built from the description
 * the main thread sends), answers each request once, and reports a file that fails meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import type { FileIO, FileIODescription } from './file-io.js';
import { fileIOFromDescription } from './file-io-from-description.js';
import type { OpenParquetFile } from './open-parquet-file.js';
import { serializeError, type FileFailedEvent, type WriterRequest, type WriterResponse } from './parquet-writer-protocol.js';
import { StreamingParquetFile } from './streaming-parquet-file.js';

if (parentPort === null) throw new Error('parquet-writer-worker must run in a worker thread');
const port = parentPort;

const fileIOs = new Map<string, FileIO>();
const files = new Map<number, OpenParquetFile>();

function fileIOFor(description: FileIODescription): FileIO {
  const key = JSON.stringify(description);
  let io = fileIOs.get(key);
  if (io === undefined) fileIOs.set(key, (io = fileIOFromDescription(description)));
  return io;
}

function fileOf(request: WriterRequest): OpenParquetFile {
  const file = files.get(request.file);
  if (file === undefined) throw new Error(`no open file ${request.file} in this worker`);
  return file;
}

async function handle(request: WriterRequest): Promise<Omit<WriterResponse & { ok: true }, 'type' | 'id' | 'ok'>> {
  switch (request.type) {
    case 'open': {
      const onFailure = (error: unknown) => port.postMessage({ type: 'file-failed', file: request.file, error: serializeError(error) } satisfies FileFailedEvent);
      files.set(request.file, new StreamingParquetFile(fileIOFor(request.io).create(request.spec.location), request.spec, onFailure));
      return {};
    }
    case 'write':
      return { bytesWritten: await fileOf(request).write(request.ipc) };
    case 'close': {
      const file = fileOf(request);
      try {
        return { written: await file.close() };
      } finally {
        files.delete(request.file);
      }
    }
    case 'abort': {
      const file = files.get(request.file);
      files.delete(request.file);
      await file?.abort();
      return {};
    }
  }
}

port.on('message', (request: WriterRequest) => {
  handle(request).then(
    (result) => port.postMessage({ type: 'response', id: request.id, ok: true, ...result } satisfies WriterResponse),
    (error: unknown) => port.postMessage({ type: 'response', id: request.id, ok: false, error: serializeError(error) } satisfies WriterResponse),
  );
});
