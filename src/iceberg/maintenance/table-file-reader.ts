/**
 * Reads what snapshots reference — manifest lists, manifests, data files — with every decoded
 * file cached, since the snapshots of one table share most of their manifests. Sequence numbers
 * and snapshot ids inherited from the manifest list (spec "Sequence Number Inheritance") are
 * resolved here, so callers see each entry as readers do.
 */
import type { FileIO } from '../file-io.js';
import { decodeManifest, EntryStatus, type ManifestEntry } from '../manifest.js';
import { decodeManifestList, type ManifestFile } from '../manifest-list.js';
import type { Snapshot } from '../table-metadata.js';

/** A manifest entry with what it inherits filled in. */
export interface ResolvedEntry {
  readonly entry: ManifestEntry;
  readonly manifest: ManifestFile;
  readonly snapshotId: bigint;
  readonly dataSequenceNumber: bigint;
  readonly fileSequenceNumber: bigint;
}

/** Whether a manifest entry is a file of the snapshot (not one it deleted). */
export function isLive(entry: ManifestEntry): boolean {
  return entry.status !== EntryStatus.DELETED;
}

export class TableFileReader {
  private readonly lists = new Map<string, Promise<ManifestFile[]>>();
  private readonly manifests = new Map<string, Promise<ManifestEntry[]>>();

  constructor(private readonly io: FileIO) {}

  /** The manifests a snapshot's manifest list names. */
  manifestsOf(snapshot: Snapshot): Promise<ManifestFile[]> {
    const path = snapshot['manifest-list'];
    let list = this.lists.get(path);
    if (list === undefined) {
      list = this.io.read(path).then(decodeManifestList);
      this.lists.set(path, list);
    }
    return list;
  }

  /** Every entry of a manifest, resolved. */
  async entriesOf(manifest: ManifestFile): Promise<ResolvedEntry[]> {
    let entries = this.manifests.get(manifest.manifestPath);
    if (entries === undefined) {
      entries = this.io.read(manifest.manifestPath).then((bytes) => decodeManifest(bytes).entries);
      this.manifests.set(manifest.manifestPath, entries);
    }
    const inherited = BigInt(manifest.sequenceNumber);
    return (await entries).map((entry) => {
      const added = entry.status === EntryStatus.ADDED;
      return {
        entry,
        manifest,
        snapshotId: entry.snapshotId ?? manifest.addedSnapshotId,
        dataSequenceNumber: entry.sequenceNumber ?? (added ? inherited : 0n),
        fileSequenceNumber: entry.fileSequenceNumber ?? (added ? inherited : 0n),
      };
    });
  }

  /** The live data and delete files of a snapshot (ADDED and EXISTING entries of its manifests). */
  async liveEntriesOf(snapshot: Snapshot): Promise<ResolvedEntry[]> {
    const out: ResolvedEntry[] = [];
    for (const manifest of await this.manifestsOf(snapshot)) for (const e of await this.entriesOf(manifest)) if (isLive(e.entry)) out.push(e);
    return out;
  }

  /** Every location a snapshot references: its manifest list, its manifests, and the files of every entry (deleted ones included when `withDeleted`). */
  async referencedBy(snapshot: Snapshot, withDeleted: boolean): Promise<{ manifestList: string; manifests: string[]; files: string[] }> {
    const manifests = await this.manifestsOf(snapshot);
    const files: string[] = [];
    for (const manifest of manifests) for (const e of await this.entriesOf(manifest)) if (withDeleted || isLive(e.entry)) files.push(e.entry.dataFile.filePath);
    return { manifestList: snapshot['manifest-list'], manifests: manifests.map((m) => m.manifestPath), files };
  }
}
