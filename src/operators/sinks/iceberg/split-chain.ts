/**
 * The split maps a group-mode run publishes, in order: the base it claimed, then the progress of
 * each pending request. Where the table stands on this chain says which requests already landed
 * (a commit whose success went unseen); a table that is on no point of it moved on without us.
 */
import type { CommitRequest, CommittedSplit } from '../../../runtime/sink.js';
import { sameProgress, type SplitMap } from './split-progress-summary.js';

/** Where the table is: after `index` requests of the chain, or off it because of `splits`. */
export type ChainPosition = { readonly kind: 'at'; readonly index: number } | { readonly kind: 'moved'; readonly splits: readonly string[] };

export interface SplitChain {
  /** Owned splits as the chain has them after `index` requests (0: the base). */
  point(index: number): ReadonlyMap<string, CommittedSplit | undefined>;
  /** The last point whose every owned split matches the table, or the splits that match none. */
  match(current: SplitMap): ChainPosition;
}

export function splitChain(base: ReadonlyMap<string, CommittedSplit | undefined>, requests: readonly CommitRequest<unknown>[]): SplitChain {
  const points: ReadonlyMap<string, CommittedSplit | undefined>[] = [new Map(base)];
  for (const request of requests) {
    const next = new Map(points.at(-1)!);
    const progress = request.splits;
    if (progress !== undefined) {
      for (const split of base.keys()) {
        // A split the source reported no position for has not moved; the checkpoint still holds its state.
        const position = progress.positions[split] ?? next.get(split)?.position;
        if (position !== undefined) next.set(split, { position, checkpoint: progress.checkpoint });
      }
    }
    points.push(next);
  }
  return {
    point: (index) => points[index]!,
    match(current) {
      for (let i = points.length - 1; i >= 0; i--) {
        const point = points[i]!;
        if ([...base.keys()].every((split) => sameProgress(current.get(split), point.get(split)))) return { kind: 'at', index: i };
      }
      const moved = [...base.keys()].filter((split) => !points.some((p) => sameProgress(current.get(split), p.get(split))));
      return { kind: 'moved', splits: moved.length > 0 ? moved : [...base.keys()] };
    },
  };
}
