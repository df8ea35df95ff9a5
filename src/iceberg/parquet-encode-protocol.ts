/**
 * Messages between the Parquet encode pool (main thread) and its worker threads. Byte payloads
 * travel as transferred ArrayBuffers, so neither side copies them; everything else is cloned.
 */
import type { ParquetEncoderOptions } from './parquet-encoder.js';
import type { ParquetFooterStats } from './parquet-footer-stats.js';
import type { Schema } from './schema.js';

/** One file to encode: an Arrow IPC stream of its batches, plus what the footer stats need. */
export interface ParquetEncodeJob {
  /** Arrow IPC stream (`tableToIPC(table, 'stream')`); its buffer is transferred to the worker. */
  readonly ipc: Uint8Array;
  readonly parquet?: ParquetEncoderOptions;
  /** The table schema's fields, to type the footer's min/max as Iceberg single values. */
  readonly fields: Schema['fields'];
  readonly truncateLength?: number;
}

/** An encoded file and its Iceberg column statistics. */
export interface EncodedParquet {
  readonly bytes: Uint8Array;
  readonly stats: ParquetFooterStats;
}

/** Main thread → worker. */
export interface EncodeRequest extends ParquetEncodeJob {
  readonly id: number;
}

/** Worker → main thread. */
export type EncodeResponse =
  | { readonly id: number; readonly ok: true; readonly bytes: Uint8Array; readonly stats: ParquetFooterStats }
  | { readonly id: number; readonly ok: false; readonly error: { readonly name: string; readonly message: string; readonly stack?: string } };

/** A Uint8Array whose buffer it alone spans can be transferred; anything else is copied first. */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
}
