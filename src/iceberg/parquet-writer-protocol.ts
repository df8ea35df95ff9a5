/**
 * Messages between a Parquet writer pool and its worker threads: over the worker's parent port
 * (a pool that spawned it) or over a port the worker was handed (a pool of a parallel subtask,
 * see ParquetWorkerHost). Every request carries an id and gets exactly one response, on the
 * port it came from. Arrow IPC bytes travel as transferred ArrayBuffers (never copied);
 * everything else is small and cloned.
 */
import type { FileIODescription } from './file-io.js';
import type { ParquetFileSpec, WrittenParquetFile } from './open-parquet-file.js';

/** Pool → worker. `file` numbers the open files of one pool (of one port). */
export type WriterRequest =
  | { readonly id: number; readonly type: 'open'; readonly file: number; readonly spec: ParquetFileSpec; readonly io: FileIODescription }
  | { readonly id: number; readonly type: 'write'; readonly file: number; readonly ipc: Uint8Array }
  | { readonly id: number; readonly type: 'close'; readonly file: number }
  | { readonly id: number; readonly type: 'abort'; readonly file: number };

/** A request before the pool numbers it. */
export type WriterRequestBody = WriterRequest extends infer R ? (R extends WriterRequest ? Omit<R, 'id'> : never) : never;

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** Worker → main thread, answering a request: `write` with the Parquet bytes stored so far, `close` with the written file. */
export type WriterResponse =
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly bytesWritten?: number; readonly written?: WrittenParquetFile }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: SerializedError };

/** Worker → main thread, unasked: a file failed (e.g. storing a row group after its last write was answered). */
export interface FileFailedEvent {
  readonly type: 'file-failed';
  readonly file: number;
  readonly error: SerializedError;
}

export type WriterMessage = WriterResponse | FileFailedEvent;

export function serializeError(e: unknown): SerializedError {
  const error = e instanceof Error ? e : new Error(String(e));
  return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
}

/** A Uint8Array whose buffer it alone spans can be transferred; anything else is copied first. */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
}
