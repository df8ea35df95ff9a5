/**
 * Object access for table files. Deliberately no `list`: S3 Tables does not support ListObjects
 * under a table's warehouse location, so nothing in the table format may depend on listing.
 */
export interface FileIO {
  /** Writes a whole object; it is visible only complete (S3 PutObject/multipart, local temp file + rename). */
  write(location: string, bytes: Uint8Array): Promise<void>;
  read(location: string): Promise<Uint8Array>;
  exists(location: string): Promise<boolean>;
  delete(location: string): Promise<void>;
}
