/**
 * One line of `npm run bench`. Each benchmark module under bench/ default-exports a function
 * returning its entries; bench/run.ts runs them all in one process and prints one table, so
 * ratios are always measured in the same run on the same (noisy, shared) machine.
 */
export interface BenchEntry {
  /** e.g. 'runtime: generator → map → filter → keyBy → count → discard'. */
  readonly name: string;
  /** Figures of this entry, e.g. { 'records/s': 1.2e6, 'ratio to for-loop': 0.41 }. */
  readonly figures: Readonly<Record<string, number | string>>;
  readonly note?: string;
}

export type Bench = () => Promise<readonly BenchEntry[]>;
