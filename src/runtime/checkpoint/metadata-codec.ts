/**
 * The `_metadata` document on disk: canonical JSON of CheckpointMetadata plus a SHA-256 of
 * that canonical form, so a truncated, hand-edited or bit-flipped file is detected, not trusted.
 */
import { z } from 'zod';
import type { CheckpointMetadata, SharedStateFile, StateHandle } from '../checkpoint-store.js';
import { CorruptCheckpointError } from '../../errors.js';
import { sha256Hex } from './state-checksum.js';

const stateHandleSchema = z.strictObject({
  name: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
});

const sharedFileSchema = z.strictObject({
  scope: z.string().min(1),
  name: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
});

const documentSchema = z.strictObject({
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  jobName: z.string().min(1),
  checkpointId: z.number().int().nonnegative(),
  triggeredAt: z.number().int().nonnegative(),
  completedAt: z.number().int().nonnegative(),
  operators: z.record(z.string(), stateHandleSchema),
  fencingToken: z.string().regex(/^\d+$/, 'must be a decimal integer'),
  sharedState: z.array(sharedFileSchema).optional(),
  metadataSha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** What a decoded document must match: the folder it was found in. */
export interface MetadataExpectation {
  readonly jobName: string;
  readonly checkpointId: number;
  /** Printable location, used in error messages. */
  readonly location: string;
}

/** Serializes metadata to the bytes stored as `_metadata`. */
export function encodeMetadata(metadata: CheckpointMetadata): Uint8Array {
  const canonical = canonicalMetadata(metadata);
  const document = { ...canonical, metadataSha256: sha256Hex(JSON.stringify(canonical)) };
  return new TextEncoder().encode(`${JSON.stringify(document, null, 2)}\n`);
}

/**
 * Parses and validates `_metadata` bytes. Throws CorruptCheckpointError naming the location
 * when the JSON is unreadable, fails the schema, fails its own checksum, or belongs elsewhere.
 */
export function decodeMetadata(bytes: Uint8Array, expected: MetadataExpectation): CheckpointMetadata {
  const where = `checkpoint ${expected.checkpointId} of job '${expected.jobName}' (${expected.location})`;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new CorruptCheckpointError(`${where}: _metadata is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = documentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new CorruptCheckpointError(`${where}: _metadata field ${path}: ${issue?.message ?? 'invalid'}`);
  }
  const { metadataSha256, ...fields } = parsed.data;
  const metadata: CheckpointMetadata = fields;
  const actual = sha256Hex(JSON.stringify(canonicalMetadata(metadata)));
  if (actual !== metadataSha256) {
    throw new CorruptCheckpointError(`${where}: _metadata checksum mismatch (stored ${metadataSha256}, computed ${actual})`);
  }
  if (metadata.jobName !== expected.jobName || metadata.checkpointId !== expected.checkpointId) {
    throw new CorruptCheckpointError(
      `${where}: _metadata describes checkpoint ${metadata.checkpointId} of job '${metadata.jobName}', not this one`,
    );
  }
  return metadata;
}

/** Throws CorruptCheckpointError unless the metadata is well-formed; used before writing it. */
export function validateMetadata(metadata: CheckpointMetadata): void {
  const location = 'to be written';
  decodeMetadata(encodeMetadata(metadata), { jobName: metadata.jobName, checkpointId: metadata.checkpointId, location });
}

// Fixed key order (operators sorted) so the checksum does not depend on insertion order.
function canonicalMetadata(metadata: CheckpointMetadata): Omit<CheckpointMetadata, 'operators'> & { operators: Record<string, StateHandle> } {
  const shared: SharedStateFile[] | undefined = metadata.sharedState
    ?.map((f) => ({ scope: f.scope, name: f.name, bytes: f.bytes, sha256: f.sha256 }))
    .sort((a, b) => (a.scope === b.scope ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.scope < b.scope ? -1 : 1));
  const operators: Record<string, StateHandle> = {};
  for (const stepId of Object.keys(metadata.operators).sort()) {
    const handle = metadata.operators[stepId]!;
    operators[stepId] = { name: handle.name, bytes: handle.bytes, sha256: handle.sha256 };
  }
  return {
    formatVersion: metadata.formatVersion,
    jobName: metadata.jobName,
    checkpointId: metadata.checkpointId,
    triggeredAt: metadata.triggeredAt,
    completedAt: metadata.completedAt,
    operators,
    fencingToken: metadata.fencingToken,
    ...(shared === undefined ? {} : { sharedState: shared }),
  };
}
