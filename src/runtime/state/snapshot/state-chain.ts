import type { SharedStateFile } from '../../checkpoint-store.js';
import { CorruptCheckpointError } from '../../../errors.js';

/** One file of a chain. */
export interface ChainFile extends SharedStateFile {
  readonly kind: 'base' | 'delta';
  /** The checkpoint that wrote it. */
  readonly checkpointId: number;
  /** Entries in the file (for the materialization decision and metrics). */
  readonly entries: number;
}

/**
 * A keyed operator's state at one checkpoint, incrementally: a base file and the deltas written
 * after it, oldest first. Restoring applies them in order; materialization merges them into a
 * new base. An empty chain is empty state.
 */
export interface StateChain {
  readonly maxParallelism: number;
  readonly files: readonly ChainFile[];
  /** The key groups the state was limited to when written (a parallel subtask's share); all when absent. */
  readonly keyGroups?: { readonly start: number; readonly end: number };
  /** The splits whose keys the state held when written (a source-partitioned subtask's); any when absent. */
  readonly splits?: readonly string[];
}

export const STATE_CHAIN_VERSION = 1;

export function emptyChain(maxParallelism: number): StateChain {
  return { maxParallelism, files: [] };
}

/** Bytes of every file of the chain: the full size of the state it describes, as stored. */
export function chainBytes(chain: StateChain): number {
  return chain.files.reduce((n, f) => n + f.bytes, 0);
}

export function encodeChain(chain: StateChain): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(chain));
}

export function decodeChain(bytes: Uint8Array, owner: string): StateChain {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new CorruptCheckpointError(`keyed state chain of '${owner}' is not valid JSON: ${(error as Error).message}`);
  }
  const chain = raw as StateChain;
  const fileOk = (f: ChainFile) =>
    typeof f?.scope === 'string' && typeof f.name === 'string' && Number.isInteger(f.bytes) && typeof f.sha256 === 'string' && (f.kind === 'base' || f.kind === 'delta') && Number.isInteger(f.checkpointId);
  if (typeof chain !== 'object' || chain === null || !Number.isInteger(chain.maxParallelism) || !Array.isArray(chain.files) || !chain.files.every(fileOk)) {
    throw new CorruptCheckpointError(`keyed state chain of '${owner}' has an unexpected shape`);
  }
  if (chain.splits !== undefined && !(Array.isArray(chain.splits) && chain.splits.every((s) => typeof s === 'string'))) {
    throw new CorruptCheckpointError(`keyed state chain of '${owner}' has splits that are not a list of names`);
  }
  if (chain.files.length > 0 && chain.files[0]!.kind !== 'base') throw new CorruptCheckpointError(`keyed state chain of '${owner}' does not start with a base file`);
  return chain;
}
