/**
 * The asynchronous phase of a keyed-state checkpoint, the same in a snapshot worker and inline:
 * changelogs become a sorted delta file appended to the chain, or — when materializing — the
 * chain's files and the changelogs are merged into one new base. Files are streamed to the
 * checkpoint store chunk by chunk; nothing holds the whole state.
 */
import { randomUUID } from 'node:crypto';
import type { CheckpointStore } from '../../checkpoint-store.js';
import { RestoreError } from '../../../errors.js';
import { ChangeSet } from '../changelog/change-set.js';
import type { BlockFilter } from '../format/state-file-reader.js';
import { StateFileReader } from '../format/state-file-reader.js';
import { StateFileWriter } from '../format/state-file-writer.js';
import type { EncodedStateBlock, StateInfo } from '../format/state-file.js';
import { mergeBlocks, type BlockSource } from './block-merge.js';
import type { ChainFile, StateChain } from './state-chain.js';

/** A chain to merge, and the part of it that belongs to this backend (group mode restores some splits, rescaling some key groups). */
export interface ChainInput {
  readonly chain: StateChain;
  /** Only these splits ('' = keys of no split); all when absent. */
  readonly splits?: readonly string[];
  /** Only key groups in [start, end]; all when absent. */
  readonly keyGroups?: { readonly start: number; readonly end: number };
}

/** One asynchronous snapshot of one keyed operator. */
export interface SnapshotJob {
  readonly taskId: string;
  /** Scope the new file goes to (the run's checkpoint scope). */
  readonly scope: string;
  readonly checkpointId: number;
  readonly maxParallelism: number;
  /** Every state declared, by changelog index. */
  readonly states: readonly StateInfo[];
  /** Split names, by changelog index. */
  readonly splits: readonly string[];
  /** Changelogs not yet in any file of `chain`, oldest first. */
  readonly logs: readonly Uint8Array[];
  /** The chain a delta extends. */
  readonly chain: StateChain;
  /** Write a new base instead: these chains merged with the changelogs. */
  readonly materialize?: readonly ChainInput[];
  /** Wall time of the barrier: TTL decisions of a base are made against it. */
  readonly now: number;
  /** Name of the file to write (chosen by the caller, so retention knows it is in use before it exists). */
  readonly fileName: string;
}

/** What the asynchronous phase produced. */
export interface SnapshotResult {
  /** The state at the checkpoint. */
  readonly chain: StateChain;
  /** The file written by this checkpoint (none when nothing changed). */
  readonly written?: ChainFile;
  /** Distinct entries changed since the chain's previous file. */
  readonly changes: number;
}

/** A unique shared-file name for a job of `taskId` at `checkpointId`. */
export function snapshotFileName(checkpointId: number, taskId: string): string {
  return `${checkpointId}-${taskId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${randomUUID()}.kst`;
}

/** Writes the checkpoint's file. `pause` lets an inline caller give the event loop a turn between blocks. */
export async function writeSnapshotFiles(job: SnapshotJob, store: CheckpointStore, pause: () => Promise<void> = async () => undefined): Promise<SnapshotResult> {
  const changes = new ChangeSet(job.states, job.splits, job.maxParallelism, job.logs);
  const changed = changes.size;
  await pause();
  const ttl = new Map(job.states.map((s) => [s.name, s.ttlMs]));
  if (job.materialize === undefined && job.chain.files.length > 0) {
    if (changed === 0) return { chain: job.chain, changes: 0 };
    // A delta's entries are copied into its file as the change set encoded them.
    const blocks = changes.encodedBlocks();
    const file = await writeFile(job, store, 'delta', job.states, pause, async (writer) => {
      const next = blocks.next();
      if (next.done === true) return false;
      writer.encodedBlock(next.value);
      return true;
    });
    return { chain: { maxParallelism: job.maxParallelism, files: [...job.chain.files, file] }, written: file, changes: changed };
  }
  // A new base: from the inputs (none on a fresh start) and the changes on top.
  const inputs = job.materialize ?? [];
  const sources: BlockSource[] = [];
  const states = new Map(job.states.map((s) => [s.name, s]));
  for (const input of inputs) {
    if (input.chain.maxParallelism !== job.maxParallelism) {
      throw new RestoreError(`keyed state of '${job.taskId}' was written with maxParallelism ${input.chain.maxParallelism}, this job uses ${job.maxParallelism}: key groups cannot be mapped`);
    }
    const filter = blockFilter(input);
    for (const file of input.chain.files) {
      const reader = new StateFileReader(store.readSharedState(file), `${file.scope}/${file.name}`);
      // States restored but not declared (yet) are carried forward, not lost.
      for (const s of (await reader.header()).states) if (!states.has(s.name)) states.set(s.name, s);
      sources.push({ next: () => reader.nextEncoded(filter) });
    }
  }
  sources.push(iteratorSource(changes.encodedBlocks()));
  for (const s of states.values()) if (!ttl.has(s.name)) ttl.set(s.name, s.ttlMs);
  const merged = mergeBlocks(sources, { now: job.now, ttlOf: (name) => ttl.get(name) ?? null });
  const file = await writeFile(job, store, 'base', [...states.values()], pause, async (writer) => {
    const next = await merged.next();
    if (next.done === true) return false;
    writer.encodedBlock(next.value);
    return true;
  });
  return { chain: { maxParallelism: job.maxParallelism, files: [file] }, written: file, changes: changed };
}

function blockFilter(input: ChainInput): BlockFilter | undefined {
  const { splits, keyGroups } = input;
  if (splits === undefined && keyGroups === undefined) return undefined;
  const splitSet = splits === undefined ? undefined : new Set(splits);
  return (_state, split, keyGroup) => (splitSet === undefined || splitSet.has(split)) && (keyGroups === undefined || (keyGroup >= keyGroups.start && keyGroup <= keyGroups.end));
}

function iteratorSource(blocks: Iterator<EncodedStateBlock>): BlockSource {
  return { next: async () => blocks.next().value ?? undefined };
}

async function writeFile(
  job: SnapshotJob,
  store: CheckpointStore,
  kind: 'base' | 'delta',
  states: readonly StateInfo[],
  pause: () => Promise<void>,
  /** Appends the file's next block to `writer`; false when there is none left. */
  appendNext: (writer: StateFileWriter) => Promise<boolean>,
): Promise<ChainFile> {
  const writer = new StateFileWriter({ kind, maxParallelism: job.maxParallelism, states });
  const chunks = async function* (): AsyncGenerator<Uint8Array> {
    while (await appendNext(writer)) {
      yield* writer.drain();
      await pause();
    }
    writer.finish();
    yield* writer.drain();
  };
  const stored = await store.writeSharedState(job.scope, job.fileName, chunks());
  return { ...stored, kind, checkpointId: job.checkpointId, entries: writer.entries };
}
