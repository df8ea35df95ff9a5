import { compareBlocks, compareEntries, type StateBlock, type StateEntry } from '../format/state-file.js';
import { compareKeys } from '../format/state-value-codec.js';

/** Blocks in file order, one at a time. */
export interface BlockSource {
  next(): Promise<StateBlock | undefined>;
}

/** How merged blocks are cleaned. */
export interface MergeOptions {
  /** Leave tombstones out (a base holds live entries only). */
  readonly dropDeleted: boolean;
  /** Wall time of the snapshot: entries older than their state's TTL are left out. */
  readonly now: number;
  readonly ttlOf: (state: string) => number | null;
}

/**
 * Merges block streams (oldest first) the way a restore would apply them: for every entry the
 * newest source wins; a whole-map tombstone hides what older sources hold of that key. One pass,
 * holding one block per source.
 */
export async function* mergeBlocks(sources: readonly BlockSource[], options: MergeOptions): AsyncGenerator<StateBlock> {
  const heads: (StateBlock | undefined)[] = await Promise.all(sources.map((s) => s.next()));
  for (;;) {
    let first: StateBlock | undefined;
    for (const head of heads) if (head !== undefined && (first === undefined || compareBlocks(head, first) < 0)) first = head;
    if (first === undefined) return;
    const same: StateBlock[] = [];
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head !== undefined && compareBlocks(head, first) === 0) {
        same.push(head);
        heads[i] = await sources[i]!.next();
      }
    }
    const entries = mergeEntries(same, options, options.ttlOf(first.state));
    if (entries.length > 0) yield { state: first.state, split: first.split, keyGroup: first.keyGroup, entries };
  }
}

/** Entries of the same block from several sources (oldest first), merged and cleaned. */
export function mergeEntries(blocks: readonly StateBlock[], options: MergeOptions, ttlMs: number | null): StateEntry[] {
  let tagged: { e: StateEntry; age: number }[];
  if (blocks.length === 1) tagged = blocks[0]!.entries.map((e) => ({ e, age: 0 }));
  else {
    tagged = [];
    blocks.forEach((b, age) => {
      for (const e of b.entries) tagged.push({ e, age });
    });
    // Sorted runs, one per source: the sort only merges them (stable, so older first on ties).
    tagged.sort((a, b) => compareEntries(a.e, b.e) || a.age - b.age);
  }
  const out: StateEntry[] = [];
  const expired = (e: StateEntry) => ttlMs !== null && e.writtenAt !== undefined && options.now - e.writtenAt >= ttlMs;
  let i = 0;
  while (i < tagged.length) {
    // One key: its entries, and the newest tombstone of the key itself (a value's, or a whole map's).
    const key = tagged[i]!.e.key;
    let end = i;
    let clearedAt = -1;
    while (end < tagged.length && compareKeys(tagged[end]!.e.key, key) === 0) {
      const t = tagged[end]!;
      if (t.e.mapKey === undefined && t.e.deleted && t.age > clearedAt) clearedAt = t.age;
      end++;
    }
    for (let j = i; j < end; ) {
      // Entries with the same map key (or a value state's entries of the key): the newest wins.
      let k = j;
      while (k + 1 < end && compareEntries(tagged[k + 1]!.e, tagged[j]!.e) === 0) k++;
      const winner = tagged[k]!;
      j = k + 1;
      if (winner.age < clearedAt) continue; // written before the key was deleted or its map cleared
      if (winner.e.deleted) {
        if (!options.dropDeleted) out.push(winner.e);
        continue;
      }
      if (expired(winner.e)) continue;
      out.push(winner.e);
    }
    i = end;
  }
  return out;
}
