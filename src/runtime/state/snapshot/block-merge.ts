import { ByteReader } from '../format/byte-reader.js';
import { ByteWriter } from '../format/byte-writer.js';
import { readEntryHead, type StateEntryHead } from '../format/state-entry-codec.js';
import { compareBlocks, compareEntries, type EncodedStateBlock } from '../format/state-file.js';
import { compareKeys } from '../format/state-value-codec.js';
import { CorruptCheckpointError } from '../../../errors.js';

/** Blocks in file order, one at a time, their entries left encoded. */
export interface BlockSource {
  next(): Promise<EncodedStateBlock | undefined>;
}

/** What a merge leaves out besides what newer sources override. */
export interface MergeOptions {
  /** Wall time of the snapshot: entries older than their state's TTL are left out. */
  readonly now: number;
  readonly ttlOf: (state: string) => number | null;
}

/**
 * Merges block streams (oldest first) into the blocks of a base, the way a restore would apply
 * them: for every entry the newest source wins; a whole-map tombstone hides what older sources
 * hold of that key; tombstones and expired entries are left out. One pass, holding one encoded
 * block per source: entries are compared by their heads and copied as bytes, so a value is never
 * decoded and memory follows the blocks' bytes, not the number of their entries. A merged
 * block's bytes are valid until the next block is asked for (one buffer serves them all).
 */
export async function* mergeBlocks(sources: readonly BlockSource[], options: MergeOptions): AsyncGenerator<EncodedStateBlock> {
  const out = new ByteWriter(256 * 1024);
  const heads: (EncodedStateBlock | undefined)[] = await Promise.all(sources.map((s) => s.next()));
  for (;;) {
    let first: EncodedStateBlock | undefined;
    for (const head of heads) if (head !== undefined && (first === undefined || compareBlocks(head, first) < 0)) first = head;
    if (first === undefined) return;
    const same: EncodedStateBlock[] = [];
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head !== undefined && compareBlocks(head, first) === 0) {
        same.push(head);
        heads[i] = await sources[i]!.next();
      }
    }
    out.clear();
    const count = mergeEntries(same, out, options.now, options.ttlOf(first.state));
    if (count > 0) yield { state: first.state, split: first.split, keyGroup: first.keyGroup, count, bytes: out.written() };
  }
}

/** One entry of a source's block: its head, and where its bytes are. */
interface Candidate {
  readonly head: StateEntryHead;
  /** Index of the source: a higher one is newer. */
  readonly age: number;
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/** Walks one block's encoded entries, decoding one head at a time. */
class EntryCursor {
  private readonly input: ByteReader;
  private left: number;
  current: Candidate | undefined;

  constructor(
    private readonly block: EncodedStateBlock,
    private readonly age: number,
  ) {
    this.input = new ByteReader(block.bytes, `keyed state block of '${block.state}' (key group ${block.keyGroup})`);
    this.left = block.count;
    this.advance();
  }

  advance(): void {
    if (this.left === 0) {
      if (this.input.remaining !== 0) throw new CorruptCheckpointError(`keyed state block of '${this.block.state}' (key group ${this.block.keyGroup}): ${this.input.remaining} bytes after its ${this.block.count} entries`);
      this.current = undefined;
      return;
    }
    this.left--;
    const start = this.input.offset;
    const head = readEntryHead(this.input);
    this.current = { head, age: this.age, bytes: this.block.bytes, start, end: this.input.offset };
  }
}

const byEntryThenAge = (a: Candidate, b: Candidate) => compareEntries(a.head, b.head) || a.age - b.age;

/** Entries of the same block from several sources (oldest first), merged and cleaned, copied encoded to `out`; returns how many. */
function mergeEntries(blocks: readonly EncodedStateBlock[], out: ByteWriter, now: number, ttlMs: number | null): number {
  const cursors = blocks.map((block, age) => new EntryCursor(block, age));
  let count = 0;
  const group: Candidate[] = [];
  for (;;) {
    // One key: every source's entries of it (each source holds them next to each other).
    let key: StateEntryHead['key'] | undefined;
    for (const c of cursors) if (c.current !== undefined && (key === undefined || compareKeys(c.current.head.key, key) < 0)) key = c.current.head.key;
    if (key === undefined) break;
    group.length = 0;
    let clearedAt = -1;
    for (const c of cursors) {
      for (let e = c.current; e !== undefined && compareKeys(e.head.key, key) === 0; e = c.current) {
        // The newest tombstone of the key itself (a value's, or a whole map's).
        if (e.head.mapKey === undefined && e.head.deleted && e.age > clearedAt) clearedAt = e.age;
        group.push(e);
        c.advance();
      }
    }
    if (group.length > 1) group.sort(byEntryThenAge);
    for (let j = 0; j < group.length; ) {
      // Entries with the same map key (or a value state's entries of the key): the newest wins.
      let k = j;
      while (k + 1 < group.length && compareEntries(group[k + 1]!.head, group[j]!.head) === 0) k++;
      const winner = group[k]!;
      j = k + 1;
      if (winner.age < clearedAt) continue; // written before the key was deleted or its map cleared
      if (winner.head.deleted) continue;
      if (ttlMs !== null && winner.head.writtenAt !== undefined && now - winner.head.writtenAt >= ttlMs) continue;
      out.span(winner.bytes, winner.start, winner.end);
      count++;
    }
  }
  return count;
}
