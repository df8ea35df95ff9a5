/**
 * Worker-thread entry of the Parquet writers: it owns the open files assigned to it, encodes
 * their batches and uploads their row groups through its own FileIO (built from the description
 * the pool sends), answers each request once, and reports a file that fails meanwhile. It serves
 * the pool that spawned it on its parent port, and every port a ParquetWorkerHost hands it (one
 * per parallel subtask of the process); each port numbers its files on its own.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { FileIO, FileIODescription } from './file-io.js';
import { fileIOFromDescription } from './file-io-from-description.js';
import type { OpenParquetFile } from './open-parquet-file.js';
import type { ServePortMessage } from '../runtime/port-serving-worker.js';
import { serializeError, type FileFailedEvent, type WriterRequest, type WriterResponse } from './parquet-writer-protocol.js';
import { StreamingParquetFile } from './streaming-parquet-file.js';

if (parentPort === null) throw new Error('parquet-writer-worker must run in a worker thread');

const fileIOs = new Map<string, FileIO>();

function fileIOFor(description: FileIODescription): FileIO {
  const key = JSON.stringify(description);
  let io = fileIOs.get(key);
  if (io === undefined) fileIOs.set(key, (io = fileIOFromDescription(description)));
  return io;
}

/** Answers the requests of one pool, arriving on `port`. */
function serve(port: MessagePort): void {
  const files = new Map<number, OpenParquetFile>();

  const fileOf = (request: WriterRequest): OpenParquetFile => {
    const file = files.get(request.file);
    if (file === undefined) throw new Error(`no open file ${request.file} in this worker`);
    return file;
  };

  const handle = async (request: WriterRequest): Promise<Omit<WriterResponse & { ok: true }, 'type' | 'id' | 'ok'>> => {
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
  };

  port.on('message', (message: WriterRequest | ServePortMessage) => {
    if (message.type === 'serve') {
      serve(message.port);
      return;
    }
    const request = message;
    handle(request).then(
      (result) => port.postMessage({ type: 'response', id: request.id, ok: true, ...result } satisfies WriterResponse),
      (error: unknown) => port.postMessage({ type: 'response', id: request.id, ok: false, error: serializeError(error) } satisfies WriterResponse),
    );
  });
  // The subtask on the other end is gone (its thread ended): its unfinished files go with it.
  port.on('close', () => {
    for (const file of files.values()) void file.abort().catch(() => undefined);
    files.clear();
  });
}

serve(parentPort);
