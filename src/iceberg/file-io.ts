import type { RemoteCallSettings } from '../remote/remote-call-settings.js';

/**
 * Object access for table files. Deliberately no `list`: S3 Tables does not support ListObjects
 * under a table's warehouse location, so nothing in the table format may depend on listing.
 */
export interface FileIO {
  /** Writes a whole object; it is visible only complete (S3 PutObject/multipart, local temp file + rename). */
  write(location: string, bytes: Uint8Array): Promise<void>;
  /** Opens a file to be written as a stream; it becomes visible only when closed. */
  create(location: string): OutputFile;
  read(location: string): Promise<Uint8Array>;
  exists(location: string): Promise<boolean>;
  delete(location: string): Promise<void>;
  /** This FileIO as plain data, for building an equivalent one in a worker thread; undefined when that is impossible (e.g. it wraps a client object). */
  readonly description: FileIODescription | undefined;
}

/**
 * A file being written as it grows (S3: a multipart upload whose parts go up as they fill;
 * local: a temp file renamed at close). Readers never see it before `close()` resolves.
 */
export interface OutputFile {
  readonly location: string;
  /** Appends bytes; waits while earlier bytes are being stored. Call sequentially; do not modify `chunk` afterwards. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the complete file visible; resolves to its size in bytes. */
  close(): Promise<number>;
  /** Discards everything written; the file never becomes visible. A no-op once closed or aborted. */
  abort(): Promise<void>;
}

/** Settings of an S3 FileIO that another thread can rebuild it from (credentials come from the environment there too). */
export interface S3FileIODescription {
  readonly kind: 's3';
  readonly region?: string;
  /** Endpoint override (moto, MinIO); implies path-style addressing. */
  readonly endpoint?: string;
  readonly partSizeBytes: number;
  readonly uploadConcurrency: number;
  /** Timeouts and retry policy of every request (the process's settings, so a worker uses the same). */
  readonly calls: RemoteCallSettings;
}

/** A FileIO as plain data (see `fileIOFromDescription`). */
export type FileIODescription = { readonly kind: 'local' } | S3FileIODescription;

/** One file found under a location. */
export interface ListedFile {
  /** Absolute location in the FileIO's scheme (`file:///…`). */
  readonly location: string;
  readonly sizeBytes: number;
  /** Epoch millis of the last modification. */
  readonly modifiedMs: number;
}

/**
 * Listing, for the one task that needs it: removing orphan files, which compares what is stored
 * under a table's location with what its metadata references. Only FileIOs whose storage allows
 * listing implement it (the local filesystem; S3 Tables forbids ListObjects under a table).
 */
export interface FileLister {
  /** Every file under `prefix` (a folder location), recursively. */
  list(prefix: string): AsyncIterable<ListedFile>;
  /** A canonical form of a location, so that two spellings of one file compare equal. */
  canonical(location: string): string;
}

/** The FileIO's lister, when it has one. */
export function fileListerOf(io: FileIO): FileLister | undefined {
  const candidate = io as Partial<FileLister>;
  return typeof candidate.list === 'function' && typeof candidate.canonical === 'function' ? (candidate as FileLister) : undefined;
}
