/**
 * A Parquet file encoded on this thread (StreamingParquetFile), whose encoder module loads with
 * the file's first call: parquet-wasm is ~18 MiB of compiled WebAssembly per thread, and the
 * threads that write through the Parquet workers (every subtask and the coordinator, normally)
 * never need it.
 */
import type { OutputFile } from './file-io.js';
import type { OpenParquetFile, ParquetFileSpec } from './open-parquet-file.js';

/** Opens `spec` on this thread; calls queue in order behind the encoder's loading, as they would behind a busy encoder. */
export function openInThreadParquetFile(output: OutputFile, spec: ParquetFileSpec, onFailure: (error: unknown) => void): OpenParquetFile {
  const file = import('./streaming-parquet-file.js').then(({ StreamingParquetFile }) => new StreamingParquetFile(output, spec, onFailure));
  file.catch(onFailure);
  return {
    write: (ipc) => file.then((f) => f.write(ipc)),
    close: () => file.then((f) => f.close()),
    abort: () => file.then((f) => f.abort()),
  };
}
