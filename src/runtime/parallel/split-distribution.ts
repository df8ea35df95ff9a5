/**
 * Which subtask reads which split: sorted splits dealt round-robin, so every subtask has as many
 * as any other (±1) and the same splits land on the same subtasks on every start with the same
 * parallelism (their keyed state chains can then be extended instead of rewritten). Never more
 * subtasks than splits.
 */
export function distributeSplits(splits: readonly string[], parallelism: number): string[][] {
  const sorted = [...splits].sort(compareSplits);
  const count = Math.max(1, Math.min(parallelism, sorted.length));
  const shares = Array.from({ length: count }, () => [] as string[]);
  sorted.forEach((split, i) => shares[i % count]!.push(split));
  return shares;
}

/** `orders:2` before `orders:10`: numeric suffixes compare as numbers. */
function compareSplits(a: string, b: string): number {
  const [pa, na] = splitName(a);
  const [pb, nb] = splitName(b);
  if (pa !== pb) return pa < pb ? -1 : 1;
  return na - nb;
}

function splitName(split: string): [string, number] {
  const colon = split.lastIndexOf(':');
  const n = Number(split.slice(colon + 1));
  return colon < 0 || !Number.isInteger(n) ? [split, 0] : [split.slice(0, colon), n];
}
