/**
 * A written data file as the manifest entry's `data_file` struct needs it (spec: "Manifests",
 * field ids 100–146). Produced by the Parquet writer, consumed by manifests and committed by sinks.
 */

/** A partition tuple value: the transform's result (e.g. `day` → days since epoch as number). */
export type PartitionValue = number | bigint | string | boolean | Uint8Array | null;

export interface DataFile {
  /** 0 = data (position/equality deletes are not written by this library). */
  readonly content: 0;
  /** Absolute location: `s3://…` or `file:///…`. */
  readonly filePath: string;
  readonly fileFormat: 'PARQUET';
  /** Partition values keyed by partition field name, in spec order. */
  readonly partition: Readonly<Record<string, PartitionValue>>;
  /** Id of the partition spec the `partition` tuple belongs to. */
  readonly specId: number;
  readonly recordCount: number;
  readonly fileSizeInBytes: number;
  /** Field id → value. Keys are Iceberg field ids of leaf columns. */
  readonly columnSizes: ReadonlyMap<number, number>;
  readonly valueCounts: ReadonlyMap<number, number>;
  readonly nullValueCounts: ReadonlyMap<number, number>;
  readonly nanValueCounts: ReadonlyMap<number, number>;
  /** Single-value binary serialization (spec Appendix D), truncated for strings/binary. */
  readonly lowerBounds: ReadonlyMap<number, Uint8Array>;
  readonly upperBounds: ReadonlyMap<number, Uint8Array>;
  /** Row-group start offsets, ascending. */
  readonly splitOffsets: readonly number[];
  readonly sortOrderId?: number;
}

/** A key equal for two files exactly when they belong to the same partition of the same spec. */
export function partitionKeyOf(f: DataFile): string {
  const parts = Object.entries(f.partition).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? `${v}n` : v]);
  return `${f.specId}:${JSON.stringify(parts)}`;
}
