/**
 * Keyed-state snapshots of the previous format (version 1: 'SLKS', a version byte, UTF-8 JSON
 * `{ maxParallelism, states: [{ name, kind, ttlMs, groups: [[keyGroup, entries]] }] }`), read so
 * checkpoints taken before the binary format still restore. Nothing writes this format any more.
 */
import { CorruptCheckpointError } from '../../../errors.js';
import { bigintReviver } from '../../bigint-json.js';
import type { StateKey } from '../state-key.js';
import type { StateKind } from './state-file.js';

export type LegacyEntry = [StateKey, unknown, number?];
export type LegacyMapEntry = [StateKey, LegacyEntry[]];

export interface LegacyState {
  readonly name: string;
  readonly kind: StateKind;
  readonly ttlMs: number | null;
  readonly groups: [number, LegacyEntry[] | LegacyMapEntry[]][];
}

export interface LegacySnapshot {
  readonly maxParallelism: number;
  readonly states: LegacyState[];
}

const MAGIC = [0x53, 0x4c, 0x4b, 0x53]; // "SLKS"
const VERSION = 1;

export function decodeLegacySnapshot(bytes: Uint8Array): LegacySnapshot {
  if (bytes.length < MAGIC.length + 1 || MAGIC.some((b, i) => bytes[i] !== b)) throw new CorruptCheckpointError('not a keyed state snapshot (bad magic)');
  const version = bytes[MAGIC.length];
  if (version !== VERSION) throw new CorruptCheckpointError(`keyed state snapshot version ${version} is not supported (this build reads ${VERSION})`);
  let doc: LegacySnapshot;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 1)), bigintReviver) as LegacySnapshot;
  } catch (cause) {
    throw new CorruptCheckpointError(`keyed state snapshot is not valid JSON: ${(cause as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || !Number.isInteger(doc.maxParallelism) || !Array.isArray(doc.states)) {
    throw new CorruptCheckpointError('keyed state snapshot has an unexpected shape');
  }
  return doc;
}
