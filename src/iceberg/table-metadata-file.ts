/**
 * Metadata JSON files on a FileIO: `<location>/metadata/<version>-<uuid>.metadata.json`, the
 * version one above the previous file's (as the Java reference names them), so names sort by
 * commit order and never collide between concurrent writers.
 */
import { randomUUID } from 'node:crypto';
import type { FileIO } from './file-io.js';
import { parseTableMetadata, serializeTableMetadata, type TableMetadata } from './table-metadata.js';

/** `<location>/metadata`. */
export function metadataDirectory(tableLocation: string): string {
  return `${tableLocation.replace(/\/+$/, '')}/metadata`;
}

/** Version number encoded in a metadata file name (`00042-<uuid>.metadata.json` → 42), or -1. */
export function metadataFileVersion(location: string | undefined): number {
  const name = location?.slice(location.lastIndexOf('/') + 1) ?? '';
  const m = /^v?(\d+)[-.]/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Location for the metadata file that follows `previousLocation` (or the first one). */
export function nextMetadataFileLocation(tableLocation: string, previousLocation: string | undefined): string {
  const version = metadataFileVersion(previousLocation) + 1;
  return `${metadataDirectory(tableLocation)}/${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`;
}

/** Writes `metadata` to a new file after `previousLocation`; returns its location. */
export async function writeTableMetadataFile(io: FileIO, metadata: TableMetadata, previousLocation: string | undefined): Promise<string> {
  const location = nextMetadataFileLocation(metadata.location, previousLocation);
  await io.write(location, new TextEncoder().encode(serializeTableMetadata(metadata)));
  return location;
}

/** Reads and parses a metadata file. */
export async function readTableMetadataFile(io: FileIO, location: string): Promise<TableMetadata> {
  const bytes = await io.read(location);
  if (location.endsWith('.gz.metadata.json') || location.endsWith('.metadata.json.gz')) {
    const { gunzipSync } = await import('node:zlib');
    return parseTableMetadata(gunzipSync(bytes).toString('utf8'));
  }
  return parseTableMetadata(new TextDecoder().decode(bytes));
}
