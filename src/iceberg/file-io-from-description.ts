/** Builds a FileIO from its plain-data description, e.g. inside a Parquet write worker. */
import type { FileIO, FileIODescription } from './file-io.js';
import { LocalFileIO } from './local-file-io.js';
import { S3FileIO } from './s3-file-io.js';

export function fileIOFromDescription(description: FileIODescription): FileIO {
  if (description.kind === 'local') return new LocalFileIO();
  return new S3FileIO(description);
}
