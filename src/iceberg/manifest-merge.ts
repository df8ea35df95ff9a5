/**
 * Keeps a streaming table's metadata bounded: every append adds one small manifest, so once a
 * partition spec has `minCount` manifests below the target size they are rewritten into as few
 * manifests as fit the target, entries marked EXISTING with their inherited snapshot id and
 * sequence numbers written out (spec "Sequence Number Inheritance"). Table properties as in the
 * Java reference: `commit.manifest-merge.enabled`, `commit.manifest.min-count-to-merge`,
 * `commit.manifest.target-size-bytes`.
 */
import { randomUUID } from 'node:crypto';
import type { FileIO } from './file-io.js';
import { decodeManifest, encodeManifestEntries, EntryStatus, type ManifestEntryInput } from './manifest.js';
import type { ManifestFile } from './manifest-list.js';
import { summarizePartitions } from './manifest-list.js';
import { currentSchema, partitionSpecById, type TableMetadata } from './table-metadata.js';
import { metadataDirectory } from './table-metadata-file.js';

export interface MergeSettings {
  readonly enabled: boolean;
  readonly minCount: number;
  readonly targetSizeBytes: number;
}

/** Merge settings from table properties (defaults: enabled, 100 manifests, 8 MiB). */
export function mergeSettings(metadata: TableMetadata): MergeSettings {
  const p = metadata.properties;
  return {
    enabled: (p['commit.manifest-merge.enabled'] ?? 'true') !== 'false',
    minCount: Number(p['commit.manifest.min-count-to-merge'] ?? 100),
    targetSizeBytes: Number(p['commit.manifest.target-size-bytes'] ?? 8 * 1024 * 1024),
  };
}

export interface MergeResult {
  readonly manifests: ManifestFile[];
  readonly created: number;
  readonly replaced: number;
}

/** Rewrites small data manifests of `carried` (the parent's list) when a spec has enough of them. */
export async function mergeManifests(
  io: FileIO,
  metadata: TableMetadata,
  carried: readonly ManifestFile[],
  ctx: { snapshotId: bigint; sequenceNumber: number; settings?: MergeSettings },
): Promise<MergeResult> {
  const settings = ctx.settings ?? mergeSettings(metadata);
  if (!settings.enabled) return { manifests: [...carried], created: 0, replaced: 0 };
  const groups = new Map<number, ManifestFile[]>();
  for (const m of carried) {
    if (m.content !== 0 || m.manifestLength >= settings.targetSizeBytes) continue;
    groups.set(m.partitionSpecId, [...(groups.get(m.partitionSpecId) ?? []), m]);
  }
  const replacedPaths = new Set<string>();
  const created: ManifestFile[] = [];
  const schema = currentSchema(metadata);
  for (const [specId, group] of groups) {
    if (group.length < settings.minCount) continue;
    const spec = partitionSpecById(metadata, specId);
    // Bins up to the target size; a bin of one manifest is left as it is.
    const bins: ManifestFile[][] = [[]];
    let size = 0;
    for (const m of group) {
      if (size + m.manifestLength > settings.targetSizeBytes && bins[bins.length - 1]!.length > 0) {
        bins.push([]);
        size = 0;
      }
      bins[bins.length - 1]!.push(m);
      size += m.manifestLength;
    }
    for (const bin of bins.filter((b) => b.length > 1)) {
      const entries: ManifestEntryInput[] = [];
      for (const m of bin) {
        for (const e of decodeManifest(await io.read(m.manifestPath)).entries) {
          if (e.status === EntryStatus.DELETED) continue;
          const inherited = e.status === EntryStatus.ADDED;
          entries.push({
            status: EntryStatus.EXISTING,
            snapshotId: e.snapshotId ?? m.addedSnapshotId,
            sequenceNumber: e.sequenceNumber ?? (inherited ? BigInt(m.sequenceNumber) : 0n),
            fileSequenceNumber: e.fileSequenceNumber ?? (inherited ? BigInt(m.sequenceNumber) : 0n),
            dataFile: e.dataFile,
          });
        }
      }
      const bytes = encodeManifestEntries(entries, { schema, spec });
      const location = `${metadataDirectory(metadata.location)}/${randomUUID()}-m-merged.avro`;
      await io.write(location, bytes);
      const minSeq = entries.reduce((min, e) => (e.sequenceNumber! < min ? e.sequenceNumber! : min), BigInt(ctx.sequenceNumber));
      created.push({
        manifestPath: location,
        manifestLength: bytes.byteLength,
        partitionSpecId: specId,
        content: 0,
        sequenceNumber: ctx.sequenceNumber,
        minSequenceNumber: Number(minSeq),
        addedSnapshotId: ctx.snapshotId,
        addedFilesCount: 0,
        existingFilesCount: entries.length,
        deletedFilesCount: 0,
        addedRowsCount: 0,
        existingRowsCount: entries.reduce((n, e) => n + e.dataFile.recordCount, 0),
        deletedRowsCount: 0,
        partitions: summarizePartitions(entries.map((e) => e.dataFile), spec, schema),
      });
      for (const m of bin) replacedPaths.add(m.manifestPath);
    }
  }
  return {
    manifests: [...created, ...carried.filter((m) => !replacedPaths.has(m.manifestPath))],
    created: created.length,
    replaced: replacedPaths.size,
  };
}
